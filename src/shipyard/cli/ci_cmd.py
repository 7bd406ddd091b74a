"""``shipyard ci plan``: which pipelines a GitHub webhook delivery starts (the rendered triggers' decision)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from shipyard.cli.output import Format, chosen, emit, exit_with, is_machine, json_option, output_option, say
from shipyard.errors import ShipyardError

if TYPE_CHECKING:
    from shipyard.ci.batches import ServiceList


def register(app: typer.Typer) -> None:
    """Add the ``ci`` command group."""
    group = typer.Typer(help="CI on Tekton: webhook routing.", no_args_is_help=True)
    group.command("plan")(plan)
    group.command("render")(render)
    group.command("batches")(batches)
    group.command("batch")(batch)
    group.command("services")(services)
    group.command("stable-source")(stable_source)
    group.command("run")(run)
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
    output: Format = output_option(),
    as_json: bool = json_option("Print the plan as JSON (the same as -o json)."),
) -> None:
    """Print the pipelines EVENT.json starts, with their params, or why it starts none."""
    from shipyard.ci.delivery import read_delivery
    from shipyard.render.tekton.routes import plan_event

    fmt = chosen(output, as_json)
    delivery = read_delivery(event_file, event_type, signature, secret_file)
    kind = delivery.event
    result = plan_event(kind, delivery.body)
    if is_machine(fmt):
        emit(result.to_json(), fmt)
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
    no_cache: bool = typer.Option(
        False, "--no-cache", envvar="SHIPYARD_NO_CACHE", help="Render everything, even when the inputs are unchanged."
    ),
    output: Format = output_option(),
    as_json: bool = json_option("Print the plan as JSON (the same as -o json)."),
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
        fmt=chosen(output, as_json),
        no_cache=no_cache,
        only=["tekton"],
    )


def batches(
    matrix: Path = typer.Argument(..., help="Output of `shipyard affected --format matrix`."),
    max_batches: int = typer.Option(256, "--max-batches", help="Tekton's matrix limit."),
    batches_file: Path = typer.Option(..., "--output", help="Where the batches (lists of names) are written."),
    result: Path | None = typer.Option(None, "--result", help="Tekton result file for the batch indexes."),
    as_json: bool = json_option("Print the batches (not the index array) as JSON."),
) -> None:
    """Split affected services into at most --max-batches batches; print (or write) the index array.

    Its --output is the batches file the pipeline's step writes, so the format has --json only."""
    from shipyard.ci.batches import Batches, matrix_batches, read_matrix

    fmt = Format.json if as_json else Format.table
    groups = Batches(matrix_batches(read_matrix(matrix), max_batches))
    text = groups.indexes
    batches_file.parent.mkdir(parents=True, exist_ok=True)
    batches_file.write_text(json.dumps(groups.batches) + "\n")
    if result is not None:
        result.write_text(text)
    if is_machine(fmt):
        emit(groups.to_json(), fmt)
    else:
        print(text)


def batch(
    batches_file: Path = typer.Argument(..., help="The file written by `shipyard ci batches --output`."),
    index: int = typer.Option(..., "--index", help="The batch index (a matrix value)."),
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """Print the services of one batch, one per line."""
    from shipyard.ci.batches import ServiceList
    from shipyard.ci.batches import batch as select

    _names(ServiceList(select(batches_file, index)), chosen(output, as_json))


def services(
    unaffected: Path | None = typer.Option(
        None, "--unaffected", help="Print only services not in this `affected --format matrix` file."
    ),
    root: Path = typer.Option(Path(), "--root", help="The monorepo root."),
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """Print the workspace's services, one per line (all, or those not affected)."""
    from shipyard.ci.batches import ServiceList, read_matrix
    from shipyard.cli.context import load_context

    fmt = chosen(output, as_json)
    names = [p.name for p in load_context(root).workspace().services]
    skip = set(read_matrix(unaffected)) if unaffected else set()
    _names(ServiceList([name for name in names if name not in skip]), fmt)


def _names(names: ServiceList, fmt: Format) -> None:
    if is_machine(fmt):
        emit(names.to_json(), fmt)
        return
    for name in names.services:
        print(name)


def stable_source(
    version: str = typer.Option(..., "--version", help="The stable version being released, e.g. v1.2.3."),
    mode_file: Path | None = typer.Option(None, "--mode-file", help="Tekton result file for retag|build."),
    source_file: Path | None = typer.Option(None, "--source-file", help="Tekton result file for the beta tag."),
    root: Path = typer.Option(Path(), "--root", help="The repository."),
    output: Format = output_option(),
    as_json: bool = json_option("Print the decision as JSON (the same as -o json)."),
) -> None:
    """Decide whether a stable release retags the last beta's digests (same tree) or builds (and why)."""
    from shipyard.ci.stable import stable_source as decide
    from shipyard.cli.context import versioning_policy
    from shipyard.git import Git

    fmt = chosen(output, as_json)
    prefix, _ = versioning_policy(root)
    decision = decide(Git(root), version, prefix)
    if mode_file is not None:
        mode_file.write_text(decision.mode)
    if source_file is not None:
        source_file.write_text(decision.source_tag)
    if is_machine(fmt):
        emit(decision.to_json(), fmt)
    else:
        print(f"{decision.mode}: {decision.reason}")


def run(
    event_file: Path = typer.Argument(..., metavar="EVENT.json", help="The webhook body, byte for byte."),
    event_type: str | None = typer.Option(
        None, "--event-type", help="The X-GitHub-Event header; guessed from the body if absent."
    ),
    signature: str | None = typer.Option(None, "--signature", help="The X-Hub-Signature-256 header (sha256=...)."),
    secret_file: Path | None = typer.Option(None, "--secret-file", help="File holding the webhook secret."),
    app_dir: Path = typer.Option(Path(), "--app-dir", help="The monorepo root (holds tekton/)."),
    workdir: Path | None = typer.Option(None, "--workdir", help="Where runs, workspaces and logs go (kept)."),
    workspace: list[str] = typer.Option(
        [], "--workspace", metavar="NAME=DIR", help="A folder for a Pipeline workspace (Secrets have none here)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the PipelineRuns and their plans; run nothing."),
    output: Format = output_option(),
    as_json: bool = json_option("Print the result (or the plan) as JSON (the same as -o json)."),
) -> None:
    """Run the pipelines EVENT.json starts, here, from the rendered tekton/ with Tekton's semantics."""
    import tempfile

    from shipyard.ci.delivery import read_delivery
    from shipyard.ci.run import load_catalog, prepare, run_all
    from shipyard.cli.ci_run_view import ProgressView, plan_text, summary

    fmt = chosen(output, as_json)
    delivery = read_delivery(event_file, event_type, signature, secret_file)
    folders = _workspace_folders(workspace)
    catalog = load_catalog(app_dir / "tekton")
    if workdir is not None:
        target = workdir
    elif dry_run:  # nothing is written: name the folder a run would make
        target = Path(tempfile.gettempdir()) / "shipyard-ci-run-XXXXXXXX"
    else:
        target = Path(tempfile.mkdtemp(prefix="shipyard-ci-run-"))
    temporary = workdir is None and not dry_run
    try:
        prepared = prepare(
            catalog,
            delivery.event,
            delivery.body,
            delivery.headers,
            target.resolve(),
            folders,
            signature_checked=delivery.signature_checked,
        )
    except ShipyardError:
        if temporary:
            target.rmdir()
        raise
    if not delivery.signature_checked:
        say("note: the webhook signature was not checked (pass --signature and --secret-file to check it)")
    if prepared.ignored:
        say(f"{delivery.event}: ignored: {prepared.ignored}")
    if dry_run:
        if is_machine(fmt):
            emit(prepared.plan_json(), fmt)
        elif prepared.plans:
            print(plan_text(prepared.plans))
        return
    if prepared.plans:
        say("note: steps run with this machine's tools; their images are not pulled")
        # Each TaskRun and step still gets its line on stderr for machines; only the spinner is for people.
        view = ProgressView(live=False) if is_machine(fmt) else ProgressView()
        try:
            run_all(prepared, view)
        finally:
            view.close()  # an interrupted run must not leave the terminal's cursor hidden
        say(f"runs, workspaces and logs are kept in {target.resolve()}")
    elif temporary:
        target.rmdir()  # nothing ran: no empty folder left behind
    if is_machine(fmt):
        emit(prepared.to_json(), fmt)
    elif prepared.runs:
        print(summary(prepared.runs))
    exit_with(0 if prepared.succeeded else 1)


def _workspace_folders(values: list[str]) -> dict[str, Path]:
    folders: dict[str, Path] = {}
    for value in values:
        name, sep, folder = value.partition("=")
        if not sep or not name or not folder:
            raise ShipyardError(f"--workspace {value}: expected NAME=DIR")
        if not Path(folder).is_dir():
            raise ShipyardError(f"--workspace {value}: {folder} is not a folder")
        folders[name] = Path(folder).resolve()
    return folders
