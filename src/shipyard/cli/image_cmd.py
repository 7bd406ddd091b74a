"""``shipyard image``: resolve references, list tags, add tags by manifest, release with aliases."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from shipyard.cli.output import emit_json, say

if TYPE_CHECKING:
    from shipyard.registry.tagging import ImageTagging

image_app = typer.Typer(
    help="OCI images: resolve, list tags, tag by manifest, release with aliases.", no_args_is_help=True
)

_ROOT = typer.Option(Path(), "--root", help="A folder inside the workspace (its shipyard.yaml names the registry).")
_INSECURE = typer.Option(False, "--insecure", help="Allow plain HTTP to a registry that is not on loopback.")
_JSON = typer.Option(False, "--json", help="Print JSON for machines.")
_DRY = typer.Option(False, "--dry-run", help="Print what would change; change nothing.")


def register(app: typer.Typer) -> None:
    """Add the ``image`` command group."""
    app.add_typer(image_app, name="image")


@image_app.command("resolve")
def resolve(
    reference: str = typer.Argument(..., help="An image reference, e.g. host/services/api:v1.2.0."),
    root: Path = _ROOT,
    insecure: bool = _INSECURE,
    as_json: bool = _JSON,
) -> None:
    """Print the digest a tag (or digest) names."""
    from shipyard.registry import NotFound, Stores, parse_reference

    ref = parse_reference(reference)
    if ref.ref is None:
        ref = ref.with_tag("latest")
    with Stores.for_workspace(root, insecure=insecure) as stores:
        digest = stores.store(ref).head_manifest(ref.repository, ref.ref or "latest")
    if digest is None:
        raise NotFound(f"{ref}: not found")
    if as_json:
        emit_json({"reference": str(ref), "digest": digest})
    else:
        print(digest)


@image_app.command("tags")
def tags(
    repository: str = typer.Argument(..., help="A repository, e.g. host/services/api."),
    root: Path = _ROOT,
    insecure: bool = _INSECURE,
    as_json: bool = _JSON,
) -> None:
    """List a repository's tags (every page)."""
    from shipyard.registry import Stores, parse_reference

    ref = parse_reference(repository)
    with Stores.for_workspace(root, insecure=insecure) as stores:
        found = stores.store(ref).list_tags(ref.repository)
    if as_json:
        emit_json({"repository": ref.name, "tags": found})
    else:
        for tag in found:
            print(tag)


def _report(command: str, taggings: list[ImageTagging], dry_run: bool, as_json: bool) -> None:
    from shipyard.registry.tagging import tagging_plan

    if as_json:
        emit_json({"command": command, "dryRun": dry_run, "images": [t.to_json() for t in taggings]})
        return
    print(tagging_plan(command, taggings).to_text())
    if not dry_run:
        moved = sum(1 for t in taggings for c in t.changes if c.action != "keep")
        say(f"tagged: {moved} tag(s) on {len(taggings)} image(s)")


@image_app.command("tag")
def tag(
    source: str = typer.Argument(..., help="The image to tag: host/repo:tag or host/repo@sha256:..."),
    new_tags: list[str] = typer.Argument(..., metavar="TAG...", help="Tags to add in the same repository."),
    root: Path = _ROOT,
    insecure: bool = _INSECURE,
    dry_run: bool = _DRY,
    as_json: bool = _JSON,
) -> None:
    """Add tags to an existing image by manifest (no layer moves); tags that exist are moved to it."""
    from shipyard.registry import Stores, parse_reference
    from shipyard.registry.tagging import apply_taggings, plan_tag

    ref = parse_reference(source)
    with Stores.for_workspace(root, insecure=insecure) as stores:
        tagging = plan_tag(stores.store(ref), ref, new_tags)
        if not dry_run:
            apply_taggings([tagging])
    _report("shipyard image tag", [tagging], dry_run, as_json)


@image_app.command("release")
def release(
    images: list[str] = typer.Argument(..., metavar="IMAGE...", help="Tested images, by tag or digest."),
    version: str = typer.Option(..., "--version", help="The release version, e.g. v1.2.0."),
    root: Path = _ROOT,
    insecure: bool = _INSECURE,
    dry_run: bool = _DRY,
    as_json: bool = _JSON,
) -> None:
    """Tag each image with the version and the aliases that move forward (stable, latest, vX.Y, vX...).

    Idempotent: tags already right are kept, so a re-run completes a partial release.
    """
    from shipyard.errors import ShipyardError
    from shipyard.registry import Stores, parse_reference
    from shipyard.registry.tagging import apply_taggings, plan_releases
    from shipyard.versioning.semver import Version, VersionError

    refs = [parse_reference(image) for image in images]
    with Stores.for_workspace(root, insecure=insecure) as stores:
        try:
            parsed = Version.parse(version, stores.tag_prefix)
        except VersionError as exc:
            raise ShipyardError(f"--version: {exc}") from exc
        taggings = plan_releases(stores.store, refs, parsed, stores.tag_prefix)
        if not dry_run:
            apply_taggings(taggings)
    _report("shipyard image release", taggings, dry_run, as_json)
