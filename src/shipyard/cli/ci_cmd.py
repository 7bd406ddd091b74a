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
    from shipyard.ci.routes import infer_event_type, plan_event
    from shipyard.ci.signature import SignatureError, read_secret, verify

    try:
        raw = event_file.read_bytes()
    except OSError as exc:
        raise ShipyardError(f"{event_file}: cannot read the event ({exc.strerror})") from exc
    if (signature is None) != (secret_file is None):
        raise SignatureError("--signature and --secret-file go together: one checks the other")
    if signature is not None and secret_file is not None:
        verify(raw, signature, read_secret(secret_file))  # before parsing: untrusted bytes are never decoded
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ShipyardError(f"{event_file}: not a JSON webhook body ({exc})") from exc
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
