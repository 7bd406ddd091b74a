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


@image_app.command("base")
def base(
    runtime: str = typer.Argument(..., help="node or python: the runtime of this host to pack."),
    root: Path = _ROOT,
    insecure: bool = _INSECURE,
    as_json: bool = _JSON,
) -> None:
    """Build a base image from this host's runtime and push it to <registry>/base-images/<runtime>:<version>."""
    from shipyard.registry import Stores
    from shipyard.registry.baseimage import build_base_image
    from shipyard.registry.reference import Reference
    from shipyard.spec.loader import load_spec
    from shipyard.spec.locate import find_spec

    registry = load_spec(find_spec(root)).registry
    project = registry.projects.base_images
    with Stores.for_workspace(root, insecure=insecure) as stores:
        built = build_base_image(stores.store(Reference(registry.host, f"{project}/{runtime}")), project, runtime)
    image = f"{registry.host}/{built.repository}:{built.tag}"
    if as_json:
        emit_json({"image": image, "digest": built.digest, "size": built.size})
    else:
        print(f"{image} {built.digest}")


@image_app.command("build")
def build(
    service: str = typer.Argument(..., help="The service to build (services/<service>/Dockerfile)."),
    tag: str = typer.Option(..., "--tag", help="The tag to push, e.g. pr-12-abc1234."),
    root: Path = _ROOT,
    insecure: bool = _INSECURE,
    dry_run: bool = _DRY,
    as_json: bool = _JSON,
) -> None:
    """Build a service with buildah (--isolation chroot) and push it to the platform's registry."""
    import shlex

    from shipyard.registry import Stores
    from shipyard.registry.build import plan_build, run_build
    from shipyard.spec.loader import load_spec
    from shipyard.spec.locate import find_spec

    spec = find_spec(root)
    plan = plan_build(load_spec(spec), spec.parent, service, tag, insecure)
    if dry_run:
        build_command = plan.build_command(Path("<tmp>/layout"))
        if as_json:
            emit_json({"service": service, "image": f"{plan.image}:{tag}", "build": build_command, "push": plan.push})
        else:
            print(shlex.join(build_command))
            print(shlex.join(plan.push))
        return
    with Stores.for_workspace(root, insecure=insecure) as stores:
        result = run_build(plan, stores)
    if as_json:
        emit_json({"service": service, "image": f"{result.image}:{tag}", "digest": result.digest})
    else:
        print(f"{result.image}:{tag} {result.digest}")
