"""``shipyard packages``: publish the workspace's npm packages at the release version."""

from __future__ import annotations

from pathlib import Path

import typer

from shipyard.cli.output import Format, chosen, emit, is_machine, json_option, output_option, say

packages_app = typer.Typer(
    help="npm packages: aligned versions published to the private registry.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add the ``packages`` command group."""
    app.add_typer(packages_app, name="packages")


@packages_app.command("publish")
def publish(
    names: list[str] = typer.Argument(None, metavar="[PACKAGE...]", help="Packages to publish (default: all)."),
    version: str = typer.Option(..., "--version", help="The release version, e.g. v1.3.0-alpha.20250101120000."),
    registry: str = typer.Option("", "--registry", help="The npm registry URL (default: the spec's npm.registry)."),
    token: str | None = typer.Option(
        None,
        "--token",
        envvar=["SHIPYARD_NPM_TOKEN", "NPM_TOKEN"],
        show_default=False,
        help="The npm registry's token. A secret: prefer the environment variable to the command line.",
    ),
    root: Path = typer.Option(Path(), "--root", help="A folder inside the workspace."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print what would be published; publish nothing."),
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """Publish packages in dependency order with the release version, exact workspace deps and the dist-tag.

    Already-published versions are skipped.
    """
    from shipyard.cli.context import load_context
    from shipyard.errors import ShipyardError
    from shipyard.packages.npm_registry import NpmRegistry, npm_token
    from shipyard.packages.publish import PublishReport, apply_publish, plan_publish
    from shipyard.versioning.semver import Version, VersionError

    fmt = chosen(output, as_json)
    token = npm_token(token)
    ctx = load_context(root)
    platform = ctx.platform
    try:
        parsed = Version.parse(version, platform.versioning.tag_prefix)
    except VersionError as exc:
        raise ShipyardError(f"--version: {exc}") from exc
    url = registry or platform.npm_registry
    url = url if url.endswith("/") else url + "/"
    workspace = ctx.workspace()
    client = NpmRegistry(url, token)
    try:
        releases = plan_publish(workspace, parsed, client, names or None)
        if not dry_run and any(r.action != "skip" for r in releases):
            if not token:
                raise ShipyardError("no npm token: set SHIPYARD_NPM_TOKEN to publish", hint="or use --dry-run")
            apply_publish(workspace, releases, url, token, client)
    finally:
        client.close()
    if is_machine(fmt):
        emit(PublishReport(url, releases, dry_run).to_json(), fmt)
        return
    verb = {"publish": "would publish" if dry_run else "published", "tag": "would tag" if dry_run else "tagged"}
    for r in releases:
        pins = ", ".join(f"{k}@{v}" for k, v in sorted(r.dependencies.items()))
        what = verb.get(r.action, "already published")
        print(f"{what:<17} {r.npm_name}@{r.version} --tag {r.dist_tag}" + (f"  (deps: {pins})" if pins else ""))
    if not releases:
        say("no packages to publish")
