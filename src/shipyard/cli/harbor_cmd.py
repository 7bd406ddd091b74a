"""``shipyard harbor``: make Harbor match the spec; read an artifact's vulnerability report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from shipyard.cli import options
from shipyard.cli.output import Format, chosen, emit, exit_with, is_machine, json_option, output_option, say

if TYPE_CHECKING:
    from shipyard.registry.harbor.client import HarborClient
    from shipyard.spec.model import Platform

harbor_app = typer.Typer(help="Harbor: projects, policies, webhook and CI robot from the spec.", no_args_is_help=True)

_ROOT = typer.Option(Path(), "--root", help="A folder inside the workspace.")
_URL = typer.Option("", "--url", envvar="SHIPYARD_HARBOR_URL", help="Harbor's URL (default: https://<registry.url>).")


def register(app: typer.Typer) -> None:
    """Add the ``harbor`` command group."""
    app.add_typer(harbor_app, name="harbor")


def _client(root: Path, url: str, username: str | None, password: str | None) -> tuple[Platform, HarborClient]:
    from shipyard.cli.context import load_context
    from shipyard.registry.harbor.client import HarborClient

    platform = load_context(root).platform
    return platform, HarborClient(url or platform.registry.url, options.harbor_credentials(username, password))


@harbor_app.command("apply")
def apply(
    root: Path = _ROOT,
    url: str = _URL,
    webhook_url: str = typer.Option(
        "", "--webhook-url", help="Where Harbor sends events (default: https://ci.<domain>/hooks/harbor)."
    ),
    webhook_auth: str | None = typer.Option(
        None,
        "--webhook-auth",
        envvar="SHIPYARD_HARBOR_WEBHOOK_AUTH",
        show_default=False,
        help="The Authorization header Harbor sends with each event. A secret: prefer the environment variable.",
    ),
    harbor_username: str | None = options.HARBOR_USERNAME,
    harbor_password: str | None = options.HARBOR_PASSWORD,
    no_robot: bool = typer.Option(
        False,
        "--no-robot",
        help="Leave the CI robot alone (pipelines: it is their own credential, and its secret must not reach a log).",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the requests that would change Harbor."),
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """Projects with scan policy, immutable stable tags, retention, webhook and a least-privilege CI robot.

    The robot's secret is printed once, when created.
    """
    from shipyard.registry.harbor.apply import ApplyResult, apply_changes, plan_harbor

    fmt = chosen(output, as_json)
    platform, client = _client(root, url, harbor_username, harbor_password)
    hook_url = webhook_url or f"https://ci.{platform.domain}/hooks/harbor"
    try:
        changes = plan_harbor(client, platform, hook_url, webhook_auth, robot=not no_robot)
        result = ApplyResult(changes, dry_run=True) if dry_run else apply_changes(client, changes)
    finally:
        client.close()
    if is_machine(fmt):
        emit(result.to_json(), fmt)
        return
    print(f"shipyard harbor apply: {len(changes) or 'nothing to'} change{'s' if len(changes) != 1 else ''}")
    for change in changes:
        print(f"  {change.action:<7} {change.target}  ({change.method} {change.path})")
    if result.robot_secret:
        say("the CI robot's secret is shown once, now; store it in the CI's secret store:")
        print(f"robot$shipyard-ci {result.robot_secret}")


@harbor_app.command("report")
def report(
    image: str = typer.Argument(..., help="host/project/repository:tag or @sha256:..."),
    root: Path = _ROOT,
    url: str = _URL,
    harbor_username: str | None = options.HARBOR_USERNAME,
    harbor_password: str | None = options.HARBOR_PASSWORD,
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """An artifact's vulnerability counts; exit 1 when it has not been scanned (never treated as clean)."""
    from shipyard.errors import ShipyardError
    from shipyard.registry.harbor.vulnerabilities import vulnerability_report
    from shipyard.registry.reference import parse_reference

    fmt = chosen(output, as_json)
    ref = parse_reference(image)
    project, _, repository = ref.repository.partition("/")
    if not repository or ref.ref is None:
        raise ShipyardError(f"'{image}' must name a project, a repository and a tag or digest")
    _platform, client = _client(root, url, harbor_username, harbor_password)
    try:
        result = vulnerability_report(client, project, repository, ref.ref)
    finally:
        client.close()
    if is_machine(fmt):
        emit(result.to_json(), fmt)
    elif result.scanned:
        counts = ", ".join(f"{k}: {v}" for k, v in result.counts().items()) or "no vulnerabilities"
        print(f"{result.reference}: {counts}")
    else:
        say(f"{result.reference}: not scanned (Harbor answered an empty report); this is not a clean result")
    if not result.scanned:
        exit_with(1)
