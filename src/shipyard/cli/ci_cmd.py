"""``shipyard ci plan``: which pipelines a GitHub webhook delivery starts (the rendered triggers' decision)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from shipyard.cli.output import emit_json
from shipyard.errors import ShipyardError


def register(app: typer.Typer) -> None:
    """Add the ``ci`` command group."""
    group = typer.Typer(help="CI on Tekton: webhook routing.", no_args_is_help=True)
    group.command("plan")(plan)
    group.command("render")(render)
    group.command("batches")(batches)
    group.command("batch")(batch)
    group.command("services")(services)
    group.command("stable-source")(stable_source)
    app.add_typer(group, name="ci")


def plan(
    event_file: Path = typer.Argument(..., metavar="EVENT.json", help="The webhook body, byte for byte."),
    event_type: str | None = typer.Option(
        None,
        "--event-type",
        help="The X-GitHub-Event header (pull_request, push, ...); guessed from the body if absent.",
    ),
    signature: str | None = typer.Option(None, "--signature", help="The X-Hub-Signature-256 header (sha256=...)."),
    secret_file: Path | None = typer.Option(None, "--secret-file", help="File holding the webhook secret."),
    as_json: bool = typer.Option(False, "--json", help="Print the plan as JSON."),
) -> None:
    """Print the pipelines EVENT.json starts, with their params, or why it starts none."""
    from shipyard.bounded import parse_json, read_bytes
    from shipyard.ci.signature import MAX_PAYLOAD, SignatureError, read_secret, verify
    from shipyard.render.tekton.routes import infer_event_type, plan_event

    if (signature is None) != (secret_file is None):
        raise SignatureError("--signature and --secret-file go together: one checks the other")
    raw = read_bytes(event_file, MAX_PAYLOAD, f"the event {event_file}")
    if signature is not None and secret_file is not None:
        verify(raw, signature, read_secret(secret_file))  # before parsing: untrusted bytes are never decoded
    body = parse_json(raw, f"the event {event_file}", limit=MAX_PAYLOAD)
    kind = event_type or infer_event_type(body)
    if kind is None:
        raise ShipyardError(
            f"{event_file}: cannot tell which event this is", hint="pass the X-GitHub-Event header as --event-type"
        )
    result = plan_event(kind, body)
    if as_json:
        emit_json(result.to_dict())
        return
    if result.ignored:
        print(f"{kind}: ignored: {result.ignored}")
    for name, params in result.pipelines:
        print(f"{kind} -> {name}")
        for key, value in params.items():
            print(f"  {key}: {value}")


def render(
    app_dir: Path | None = typer.Option(
        None, "--app-dir", help="The monorepo (holds shipyard.yaml; default: the one around the current folder)."
    ),
    check: bool = typer.Option(False, "--check", help="Exit 1 and list what differs; write nothing."),
    diff: bool = typer.Option(False, "--diff", help="Show the changes as a unified diff; write nothing."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan; write nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the plan as JSON."),
) -> None:
    """Write tekton/ (Tasks, Pipelines, triggers, RBAC) into the monorepo: `shipyard render --only tekton`."""
    from shipyard.cli.render_cmd import render_targets

    render_targets(
        out=None,
        app_dir=app_dir,
        root=app_dir or Path(),
        check=check,
        diff=diff,
        dry_run=dry_run,
        commit=False,
        as_json=as_json,
        only=["tekton"],
    )


def batches(
    matrix: Path = typer.Argument(..., help="Output of `shipyard affected --format matrix`."),
    max_batches: int = typer.Option(256, "--max-batches", help="Tekton's matrix limit."),
    output: Path = typer.Option(..., "--output", help="Where the batches (lists of names) are written."),
    result: Path | None = typer.Option(None, "--result", help="Tekton result file for the batch indexes."),
) -> None:
    """Split affected services into at most --max-batches batches; print (or write) the index array."""
    from shipyard.ci.batches import matrix_batches, read_matrix, result_text

    groups = matrix_batches(read_matrix(matrix), max_batches)
    text = result_text(groups)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(groups) + "\n")
    if result is not None:
        result.write_text(text)
    print(text)


def batch(
    batches_file: Path = typer.Argument(..., help="The file written by `shipyard ci batches --output`."),
    index: int = typer.Option(..., "--index", help="The batch index (a matrix value)."),
) -> None:
    """Print the services of one batch, one per line."""
    from shipyard.ci.batches import batch as select

    for name in select(batches_file, index):
        print(name)


def services(
    unaffected: Path | None = typer.Option(
        None, "--unaffected", help="Print only services not in this `affected --format matrix` file."
    ),
    root: Path = typer.Option(Path(), "--root", help="The monorepo root."),
) -> None:
    """Print the workspace's services, one per line (all, or those not affected)."""
    from shipyard.ci.batches import read_matrix
    from shipyard.workspace.discovery import discover

    names = [p.name for p in discover(root).services]
    skip = set(read_matrix(unaffected)) if unaffected else set()
    for name in names:
        if name not in skip:
            print(name)


def stable_source(
    version: str = typer.Option(..., "--version", help="The stable version being released, e.g. v1.2.3."),
    mode_file: Path | None = typer.Option(None, "--mode-file", help="Tekton result file for retag|build."),
    source_file: Path | None = typer.Option(None, "--source-file", help="Tekton result file for the beta tag."),
    root: Path = typer.Option(Path(), "--root", help="The repository."),
    as_json: bool = typer.Option(False, "--json", help="Print the decision as JSON."),
) -> None:
    """Decide whether a stable release retags the last beta's digests (same tree) or builds (and why)."""
    from shipyard.ci.stable import stable_source as decide
    from shipyard.git import Git

    decision = decide(Git(root), version)
    if mode_file is not None:
        mode_file.write_text(decision.mode)
    if source_file is not None:
        source_file.write_text(decision.source_tag)
    if as_json:
        emit_json(decision.to_dict())
    else:
        print(f"{decision.mode}: {decision.reason}")
