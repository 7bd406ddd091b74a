"""``shipyard freight``: record the artifacts of a version in the config repo, and list what is recorded."""

from __future__ import annotations

from pathlib import Path

import typer

from shipyard.cli import options
from shipyard.cli.output import Format, chosen, emit, emit_plan, is_machine, json_option, output_option, say


def register(app: typer.Typer) -> None:
    """Add the ``freight`` command group."""
    group = typer.Typer(help="Freight: the image digests and package versions of one version.", no_args_is_help=True)
    group.command("add")(add)
    group.command("list")(list_freight)
    app.add_typer(group, name="freight")


def add(
    version: str = typer.Option(..., "--version", help="The version, e.g. v1.2.0-beta.1."),
    image: list[str] = typer.Option([], "--image", help="SERVICE=sha256:<digest>; repeat for each service."),
    from_registry: bool = typer.Option(
        False,
        "--from-registry",
        help="Take each service's digest from its tag VERSION in the registry of shipyard.yaml.",
    ),
    package: list[str] = typer.Option([], "--package", help="NAME=VERSION of a package; repeat for each."),
    source_commit: str | None = typer.Option(None, "--source-commit", help="The monorepo commit it was built from."),
    pr: int | None = typer.Option(None, "--pr", help="The pull request it came from."),
    author: list[str] = typer.Option(
        [],
        "--author",
        help="EMAIL of an author of the source commit (repeat for each); default: its author and co-authors "
        "in the workspace's git history. The four-eyes rule keeps them from approving it.",
    ),
    config_repo: str | None = options.CONFIG_REPO,
    root: Path = typer.Option(Path(), "--root", help="A folder inside the workspace."),
    registry_username: str | None = options.REGISTRY_USERNAME,
    registry_password: str | None = options.REGISTRY_PASSWORD,
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan; change nothing."),
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """Record freight VERSION in the config repo (freight/VERSION.yaml), committed with trailers and pushed."""
    from shipyard.cli.context import load_context
    from shipyard.errors import ShipyardError
    from shipyard.promotion.authors import commit_authors
    from shipyard.promotion.executor import record_freight
    from shipyard.promotion.freight import FreightImage, Recorded, make_freight, parse_image_option

    fmt = chosen(output, as_json)
    credentials = options.registry_credentials(registry_username, registry_password)
    ctx = load_context(root, config_repo, registry_credentials=credentials)
    services = [p.name for p in ctx.workspace().services]
    image_of = {s: ctx.platform.registry.image(s) for s in services}
    images = dict(parse_image_option(text, image_of) for text in image)
    if from_registry:
        try:
            for service in services:
                digest = ctx.tags.digest_of(image_of[service], version)
                if digest and service not in images:
                    images[service] = FreightImage(image=image_of[service], digest=digest)
        finally:
            ctx.close()
    packages = {}
    for text in package:
        name, sep, value = text.rpartition("=")
        if not sep or not name or not value:
            raise ShipyardError(f"--package '{text}' must be NAME=VERSION, e.g. @acme/utils=1.2.0-beta.1")
        packages[name] = value
    authors = list(author)
    if source_commit and not authors:
        authors = list(commit_authors(ctx.root, source_commit) or ())
    prefix = ctx.platform.versioning.tag_prefix
    freight = make_freight(version, images, packages, source_commit, pr, prefix, authors=authors)
    plan, commit = record_freight(ctx.config_repo, freight, dry_run=dry_run)
    if is_machine(fmt):
        emit(Recorded(freight, plan, commit).to_json(), fmt)
        return
    emit_plan(plan, fmt)
    if commit:
        say(f"recorded freight {freight.version} as {freight.short_id} ({commit[:12]})")


def list_freight(
    config_repo: str | None = options.CONFIG_REPO,
    root: Path = typer.Option(Path(), "--root", help="A folder inside the workspace."),
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """List the freight recorded in the config repo, oldest version first."""
    from shipyard.cli.context import load_context
    from shipyard.promotion.ledger import FreightRecords, read_ledger

    fmt = chosen(output, as_json)
    ctx = load_context(root, config_repo)
    records = FreightRecords.of(read_ledger(ctx.config_repo))
    if is_machine(fmt):
        emit(records.to_json(), fmt)
        return
    for r in records.entries:
        passed = ", ".join(m.stage or "" for m in records.passed.get(r.freight, [])) or "no stage yet"
        print(f"{r.freight[:12]}  {r.version:<32} {', '.join(s for s, _ in r.images)}; passed: {passed}")
