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


_AFFECTED = typer.Option(None, "--affected", help="Only the packages listed in this `shipyard affected --json` file.")


@packages_app.command("build")
def build(
    names: list[str] = typer.Argument(None, metavar="[PACKAGE...]", help="Packages to build (default: all)."),
    affected: Path | None = _AFFECTED,
    root: Path = typer.Option(Path(), "--root", help="A folder inside the workspace."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the order; build nothing."),
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """Run each package's `npm run build`, every package after the packages it depends on.

    Named packages bring their workspace dependencies along: they are compiled against them.
    """
    wanted = _wanted(names, affected)
    _run_script("build", wanted, root, dry_run, chosen(output, as_json), with_dependencies=True)


@packages_app.command("test")
def test(
    names: list[str] = typer.Argument(None, metavar="[PACKAGE...]", help="Packages to test (default: all)."),
    affected: Path | None = _AFFECTED,
    root: Path = typer.Option(Path(), "--root", help="A folder inside the workspace."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the order; test nothing."),
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """Run each package's `npm test`, in dependency order (build the packages first)."""
    _run_script("test", _wanted(names, affected), root, dry_run, chosen(output, as_json), with_dependencies=False)


def _wanted(names: list[str] | None, affected: Path | None) -> list[str] | None:
    from shipyard.errors import ShipyardError
    from shipyard.packages.scripts import affected_packages

    if affected is not None and names:
        raise ShipyardError("name packages or give --affected, not both")
    return affected_packages(affected) if affected is not None else names or None


def _run_script(
    script: str, names: list[str] | None, root: Path, dry_run: bool, fmt: Format, *, with_dependencies: bool
) -> None:
    from shipyard.cli.context import load_context
    from shipyard.packages.scripts import PackageScript, ScriptReport, plan_scripts, run_scripts

    workspace = load_context(root).workspace()
    runs = plan_scripts(workspace, script, names, with_dependencies=with_dependencies)

    def done(run: PackageScript) -> None:
        if not is_machine(fmt):
            say(f"npm run {script}: {run.project} ok")

    if not dry_run:
        run_scripts(workspace, runs, done)
    if is_machine(fmt):
        emit(ScriptReport(script, runs, dry_run).to_json(), fmt)
        return
    if not runs:
        say(f"no packages to {script}")
    for run in runs:
        if not run.present:
            say(f"{run.project}: no `{script}` script")
        elif dry_run:
            print(f"would run `npm run {script}` in {run.path}")


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
