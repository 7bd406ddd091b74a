"""``shipyard harbor``: make Harbor match the spec; read an artifact's vulnerability report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from shipyard.cli.output import emit_json, exit_with, say

if TYPE_CHECKING:
    from shipyard.registry.harbor.client import HarborClient
    from shipyard.spec.model import Platform

harbor_app = typer.Typer(help="Harbor: projects, policies, webhook and CI robot from the spec.", no_args_is_help=True)

_ROOT = typer.Option(Path(), "--root", help="A folder inside the workspace.")
_URL = typer.Option("", "--url", help="Harbor's URL (default: https://<registry.url>).")
_JSON = typer.Option(False, "--json", help="Print JSON for machines.")


def register(app: typer.Typer) -> None:
    """Add the ``harbor`` command group."""
    app.add_typer(harbor_app, name="harbor")


def _client(root: Path, url: str) -> tuple[Platform, HarborClient]:
    from shipyard.registry.harbor.client import HarborClient, harbor_credentials
    from shipyard.spec.loader import load_spec
    from shipyard.spec.locate import find_spec

    platform = load_spec(find_spec(root))
    return platform, HarborClient(url or platform.registry.url, harbor_credentials())


@harbor_app.command("apply")
def apply(
    root: Path = _ROOT,
    url: str = _URL,
    webhook_url: str = typer.Option(
        "", "--webhook-url", help="Where Harbor sends events (default: https://ci.<domain>/hooks/harbor)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the requests that would change Harbor."),
    as_json: bool = _JSON,
) -> None:
    """Projects with scan policy, immutable stable tags, retention, webhook and a least-privilege CI robot.

    Credentials: SHIPYARD_HARBOR_USERNAME / SHIPYARD_HARBOR_PASSWORD. The webhook's Authorization header
    comes from SHIPYARD_HARBOR_WEBHOOK_AUTH when set. The robot's secret is printed once, when created.
    """
    import os

    from shipyard.registry.harbor.apply import apply_changes, plan_harbor

    platform, client = _client(root, url)
    hook_url = webhook_url or f"https://ci.{platform.domain}/hooks/harbor"
    try:
        changes = plan_harbor(client, platform, hook_url, os.environ.get("SHIPYARD_HARBOR_WEBHOOK_AUTH"))
        secret = None if dry_run else apply_changes(client, changes).robot_secret
    finally:
        client.close()
    if as_json:
        out: dict[str, object] = {"command": "shipyard harbor apply", "dryRun": dry_run}
        out["changes"] = [c.to_json() for c in changes]
        out["robot"] = {"name": "robot$shipyard-ci", "secret": secret} if secret else None
        emit_json(out)
        return
    print(f"shipyard harbor apply: {len(changes) or 'nothing to'} change{'s' if len(changes) != 1 else ''}")
    for change in changes:
        print(f"  {change.action:<7} {change.target}  ({change.method} {change.path})")
    if secret:
        say("the CI robot's secret is shown once, now; store it in the CI's secret store:")
        print(f"robot$shipyard-ci {secret}")


@harbor_app.command("report")
def report(
    image: str = typer.Argument(..., help="host/project/repository:tag or @sha256:..."),
    root: Path = _ROOT,
    url: str = _URL,
    as_json: bool = _JSON,
) -> None:
    """An artifact's vulnerability counts; exit 1 when it has not been scanned (never treated as clean)."""
    from shipyard.errors import ShipyardError
    from shipyard.registry.harbor.vulnerabilities import vulnerability_report
    from shipyard.registry.reference import parse_reference

    ref = parse_reference(image)
    project, _, repository = ref.repository.partition("/")
    if not repository or ref.ref is None:
        raise ShipyardError(f"'{image}' must name a project, a repository and a tag or digest")
    _platform, client = _client(root, url)
    try:
        result = vulnerability_report(client, project, repository, ref.ref)
    finally:
        client.close()
    if as_json:
        emit_json(result.to_json())
    elif result.scanned:
        counts = ", ".join(f"{k}: {v}" for k, v in result.counts().items()) or "no vulnerabilities"
        print(f"{result.reference}: {counts}")
    else:
        say(f"{result.reference}: not scanned (Harbor answered an empty report); this is not a clean result")
    if not result.scanned:
        exit_with(1)
