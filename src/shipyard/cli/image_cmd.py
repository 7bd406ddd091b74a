"""``shipyard image``: resolve references, list tags, add tags by manifest, release with aliases."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from shipyard.cli import options
from shipyard.cli.output import Format, chosen, emit, is_machine, json_option, output_option, say

if TYPE_CHECKING:
    from shipyard.registry.stores import Stores
    from shipyard.registry.tagging import TaggingReport

image_app = typer.Typer(
    help="OCI images: resolve, list tags, tag by manifest, release with aliases.", no_args_is_help=True
)

_ROOT = typer.Option(Path(), "--root", help="A folder inside the workspace (its shipyard.yaml names the registry).")
_INSECURE = typer.Option(False, "--insecure", help="Allow plain HTTP to a registry that is not on loopback.")
_DRY = typer.Option(False, "--dry-run", help="Print what would change; change nothing.")


def register(app: typer.Typer) -> None:
    """Add the ``image`` command group."""
    app.add_typer(image_app, name="image")


def _stores(root: Path, insecure: bool, username: str | None, password: str | None) -> Stores:
    """The image stores of the workspace at ``root`` (plain registries outside one), with the credentials given."""
    from shipyard.cli.context import find_context, open_stores

    credentials = options.registry_credentials(username, password)
    return open_stores(find_context(root, registry_credentials=credentials), insecure=insecure, credentials=credentials)


@image_app.command("resolve")
def resolve(
    reference: str = typer.Argument(..., help="An image reference, e.g. host/services/api:v1.2.0."),
    root: Path = _ROOT,
    insecure: bool = _INSECURE,
    registry_username: str | None = options.REGISTRY_USERNAME,
    registry_password: str | None = options.REGISTRY_PASSWORD,
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """Print the digest a tag (or digest) names."""
    from shipyard.registry import parse_reference
    from shipyard.registry.lookup import resolve as resolve_digest

    fmt = chosen(output, as_json)
    ref = parse_reference(reference)
    with _stores(root, insecure, registry_username, registry_password) as stores:
        resolved = resolve_digest(stores, ref)
    if is_machine(fmt):
        emit(resolved.to_json(), fmt)
    else:
        print(resolved.digest)


@image_app.command("tags")
def tags(
    repository: str = typer.Argument(..., help="A repository, e.g. host/services/api."),
    root: Path = _ROOT,
    insecure: bool = _INSECURE,
    registry_username: str | None = options.REGISTRY_USERNAME,
    registry_password: str | None = options.REGISTRY_PASSWORD,
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """List a repository's tags (every page)."""
    from shipyard.registry import parse_reference
    from shipyard.registry.lookup import list_tags

    fmt = chosen(output, as_json)
    ref = parse_reference(repository)
    with _stores(root, insecure, registry_username, registry_password) as stores:
        found = list_tags(stores, ref)
    if is_machine(fmt):
        emit(found.to_json(), fmt)
    else:
        for tag in found.tags:
            print(tag)


def _report(report: TaggingReport, fmt: Format) -> None:
    if is_machine(fmt):
        emit(report.to_json(), fmt)
        return
    print(report.plan().to_text())
    if not report.dry_run:
        say(f"tagged: {report.moved} tag(s) on {len(report.taggings)} image(s)")


@image_app.command("tag")
def tag(
    source: str = typer.Argument(..., help="The image to tag: host/repo:tag or host/repo@sha256:..."),
    new_tags: list[str] = typer.Argument(..., metavar="TAG...", help="Tags to add in the same repository."),
    root: Path = _ROOT,
    insecure: bool = _INSECURE,
    registry_username: str | None = options.REGISTRY_USERNAME,
    registry_password: str | None = options.REGISTRY_PASSWORD,
    dry_run: bool = _DRY,
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """Add tags to an existing image by manifest (no layer moves); tags that exist are moved to it."""
    from shipyard.registry import parse_reference
    from shipyard.registry.tagging import TaggingReport, apply_taggings, plan_tag

    fmt = chosen(output, as_json)
    ref = parse_reference(source)
    with _stores(root, insecure, registry_username, registry_password) as stores:
        tagging = plan_tag(stores.store(ref), ref, new_tags)
        if not dry_run:
            apply_taggings([tagging])
    _report(TaggingReport("shipyard image tag", [tagging], dry_run), fmt)


@image_app.command("release")
def release(
    images: list[str] = typer.Argument(..., metavar="IMAGE...", help="Tested images, by tag or digest."),
    version: str = typer.Option(..., "--version", help="The release version, e.g. v1.2.0."),
    root: Path = _ROOT,
    insecure: bool = _INSECURE,
    registry_username: str | None = options.REGISTRY_USERNAME,
    registry_password: str | None = options.REGISTRY_PASSWORD,
    dry_run: bool = _DRY,
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """Tag each image with the version and the aliases that move forward (stable, latest, vX.Y, vX...).

    Idempotent: tags already right are kept, so a re-run completes a partial release.
    """
    from shipyard.cli.progress import progress_bars
    from shipyard.errors import ShipyardError
    from shipyard.registry import parse_reference
    from shipyard.registry.tagging import TaggingReport, apply_taggings, plan_releases
    from shipyard.versioning.semver import Version, VersionError

    fmt = chosen(output, as_json)
    refs = [parse_reference(image) for image in images]
    with _stores(root, insecure, registry_username, registry_password) as stores, progress_bars(fmt) as progress:
        try:
            parsed = Version.parse(version, stores.tag_prefix)
        except VersionError as exc:
            raise ShipyardError(f"--version: {exc}") from exc
        taggings = plan_releases(stores.store, refs, parsed, stores.tag_prefix, progress=progress)
        if not dry_run:
            apply_taggings(taggings, progress=progress)
    _report(TaggingReport("shipyard image release", taggings, dry_run), fmt)


@image_app.command("base")
def base(
    runtime: str = typer.Argument(..., help="node or python: the runtime of this host to pack."),
    root: Path = _ROOT,
    insecure: bool = _INSECURE,
    registry_username: str | None = options.REGISTRY_USERNAME,
    registry_password: str | None = options.REGISTRY_PASSWORD,
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """Build a base image from this host's runtime and push it to <registry>/base-images/<runtime>:<version>."""
    from shipyard.cli.context import load_context
    from shipyard.registry.baseimage import build_base_image
    from shipyard.registry.reference import Reference

    fmt = chosen(output, as_json)
    ctx = load_context(root, registry_credentials=options.registry_credentials(registry_username, registry_password))
    registry = ctx.platform.registry
    project = registry.projects.base_images
    with ctx.stores(insecure=insecure) as stores:
        store = stores.store(Reference(registry.host, f"{project}/{runtime}"))
        built = build_base_image(store, project, runtime, registry.host)
    if is_machine(fmt):
        emit(built.to_json(), fmt)
    else:
        print(f"{built.image} {built.digest}")


@image_app.command("build")
def build(
    service: str = typer.Argument(..., help="The service to build (services/<service>/Dockerfile)."),
    tag: str = typer.Option(..., "--tag", help="The tag to push, e.g. pr-12-abc1234."),
    pr: int | None = typer.Option(None, "--pr", min=1, help="The pull request built, recorded as an annotation."),
    root: Path = _ROOT,
    insecure: bool = _INSECURE,
    registry_username: str | None = options.REGISTRY_USERNAME,
    registry_password: str | None = options.REGISTRY_PASSWORD,
    dry_run: bool = _DRY,
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """Build a service with buildah (--isolation chroot), annotated with its commit, source, version and PR,
    and push it to the platform's registry."""
    import shlex

    from shipyard.cli.context import load_context
    from shipyard.registry.build import plan_build, run_build

    fmt = chosen(output, as_json)
    ctx = load_context(root, registry_credentials=options.registry_credentials(registry_username, registry_password))
    plan = plan_build(ctx.platform, ctx.root, service, tag, insecure, pr)
    if dry_run:
        if is_machine(fmt):
            emit(plan.to_json(), fmt)
        else:
            print(shlex.join(plan.build_command(Path("<tmp>/layout"))))
            print(shlex.join(plan.push))
        return
    with ctx.stores(insecure=insecure) as stores:
        result = run_build(plan, stores)
    if is_machine(fmt):
        emit(result.to_json(), fmt)
    else:
        print(f"{result.image}:{tag} {result.digest}")
