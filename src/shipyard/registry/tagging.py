"""Adding tags to an existing image by manifest: GET it once, PUT the same bytes under each new tag.

No layer moves, and the digest the registry reports for every PUT must equal the source's, so a
tag can only ever name the image that was tested. Planning (what would change) is separate from
applying (the PUTs); both run their requests concurrently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from shipyard.errors import ShipyardError
from shipyard.registry.reference import Reference, check_tag
from shipyard.registry.store import ImageStore, Manifest, RegistryError
from shipyard.versioning.aliases import image_tags
from shipyard.versioning.semver import Version

if TYPE_CHECKING:
    from shipyard.plan import Plan
    from shipyard.plan.progress import Progress

Action = Literal["create", "move", "keep"]
T = TypeVar("T")
R = TypeVar("R")
DEFAULT_WORKERS = 16


def concurrently(func: Callable[[T], R], items: Sequence[T], workers: int = DEFAULT_WORKERS) -> list[R]:
    """``func`` over ``items`` on a thread pool, results in order; the first exception is raised."""
    if len(items) <= 1:
        return [func(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(func, items))


@dataclass(frozen=True)
class TagChange:
    """One tag of an image: created, moved from ``previous``, or kept (already right)."""

    tag: str
    action: Action
    previous: str | None = None


@dataclass
class ImageTagging:
    """The tags planned for one image: the source manifest and what happens to each tag."""

    source: Reference
    manifest: Manifest
    changes: list[TagChange] = field(default_factory=list)
    store: ImageStore | None = field(default=None, repr=False, compare=False)

    @property
    def repository(self) -> str:
        """``host/repository`` of the image."""
        return self.source.name

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready description (documented in docs/registries.md)."""
        return {
            "image": self.repository,
            "source": str(self.source),
            "digest": self.manifest.digest,
            "mediaType": self.manifest.media_type,
            "tags": [{"tag": c.tag, "action": c.action, "previous": c.previous} for c in self.changes],
        }


@dataclass
class TaggingReport:
    """What ``image tag`` or ``image release`` did (or, on a dry run, would do) to each image."""

    command: str
    taggings: list[ImageTagging]
    dry_run: bool = False

    @property
    def moved(self) -> int:
        """How many tags are created or moved (kept tags are already right)."""
        return sum(1 for t in self.taggings for c in t.changes if c.action != "keep")

    def plan(self) -> Plan:
        """The taggings as a Plan (see ``tagging_plan``)."""
        return tagging_plan(self.command, self.taggings)

    def to_json(self) -> dict[str, Any]:
        """For JSON output (documented in docs/registries.md)."""
        return {"command": self.command, "dryRun": self.dry_run, "images": [t.to_json() for t in self.taggings]}


def _changes(
    store: ImageStore, source: Reference, digest: str, tags: Iterable[str], known: set[str] | None
) -> list[TagChange]:
    """What each tag needs; tags absent from ``known`` (the repository's tag list) are created unasked."""

    def one(tag: str) -> TagChange:
        current = store.head_manifest(source.repository, tag) if known is None or tag in known else None
        if current is None:
            return TagChange(tag, "create")
        return TagChange(tag, "keep" if current == digest else "move", None if current == digest else current)

    return concurrently(one, list(dict.fromkeys(tags)))


def plan_tag(store: ImageStore, source: Reference, tags: Sequence[str]) -> ImageTagging:
    """Plan adding ``tags`` to the image ``source`` names (any tag may move: this is ``crane tag``)."""
    for tag in tags:
        check_tag(tag)
    if source.ref is None:
        raise ShipyardError(f"'{source}' names no tag or digest; say which image, e.g. {source.name}:v1.2.0")
    manifest = store.get_manifest(source.repository, source.ref)
    if source.digest and source.tag:
        tagged = store.head_manifest(source.repository, source.tag)
        if tagged != source.digest:
            raise ShipyardError(f"{source.name}:{source.tag} names {tagged}, not {source.digest}")
    return ImageTagging(source, manifest, _changes(store, source, manifest.digest, tags, None), store)


def plan_release(store: ImageStore, source: Reference, version: Version, prefix: str = "v") -> ImageTagging:
    """Plan a release of ``source`` as ``version``: its version tag plus the aliases that move forward.

    The published versions are the version tags already in the repository. A version tag that names
    another image is refused: versions never move.
    """
    if source.ref is None:
        raise ShipyardError(
            f"'{source}' names no tag or digest; release the tested image, e.g. {source.name}@sha256:... "
            f"or {source.name}:pr-12-abc1234"
        )
    known = set(store.list_tags(source.repository))
    published = [v for v in (Version.try_parse(t, prefix) for t in known if t.startswith(prefix)) if v]
    manifest = store.get_manifest(source.repository, source.ref)
    tags = image_tags(version, published, prefix)
    changes = _changes(store, source, manifest.digest, tags, known)
    version_tag = version.format(prefix)
    for change in changes:
        if change.tag == version_tag and change.action == "move":
            raise ShipyardError(
                f"{source.name}:{version_tag} already names {change.previous}, not {manifest.digest}",
                hint="versions never move: release the image that was tested under this version, or a new version",
            )
    return ImageTagging(source, manifest, changes, store)


def plan_releases(
    store_for: Callable[[Reference], ImageStore],
    sources: Sequence[Reference],
    version: Version,
    prefix: str = "v",
    workers: int = DEFAULT_WORKERS,
    progress: Progress | None = None,
) -> list[ImageTagging]:
    """Plan the release of many images at once (one per repository), concurrently; ``progress`` counts
    the images read."""
    from shipyard.plan.progress import Counter

    seen: set[str] = set()
    for source in sources:
        if source.name in seen:
            raise ShipyardError(f"{source.name} is named twice; a release tags one image per repository")
        seen.add(source.name)
    counter = Counter(progress, "read images", len(sources))
    counter.start()

    def one(source: Reference) -> ImageTagging:
        tagging = plan_release(store_for(source), source, version, prefix)
        counter.step()
        return tagging

    return concurrently(one, list(sources), workers)


def apply_taggings(
    taggings: Sequence[ImageTagging], workers: int = DEFAULT_WORKERS, progress: Progress | None = None
) -> None:
    """PUT the source manifest under every tag that is not yet right, all images at once.

    Each PUT must report the source digest; re-running after a failure completes the set. ``progress``
    counts the tags written.
    """
    from shipyard.plan.progress import Counter

    work = [(t, c) for t in taggings for c in t.changes if c.action != "keep"]
    counter = Counter(progress, "write tags", len(work))
    counter.start()

    def put(item: tuple[ImageTagging, TagChange]) -> None:
        tagging, change = item
        assert tagging.store is not None  # set by the planners
        digest = tagging.store.put_manifest(tagging.source.repository, change.tag, tagging.manifest)
        if digest != tagging.manifest.digest:
            raise RegistryError(
                f"{tagging.repository}:{change.tag}: the registry stored {digest}, not the source's "
                f"{tagging.manifest.digest}; the manifest was altered on the way"
            )
        counter.step()

    concurrently(put, work, workers)


def tagging_plan(command: str, taggings: Sequence[ImageTagging]) -> Plan:
    """The taggings as a Plan: one ``tag`` action per tag to create or move; kept tags are notes."""
    from shipyard.plan import Op, Plan

    plan = Plan(command=command)
    for tagging in taggings:
        for change in tagging.changes:
            target = f"{tagging.repository}:{change.tag}"
            if change.action == "keep":
                plan.notes.append(f"{target} already names {tagging.manifest.digest[:19]}")
                continue
            summary = f"{change.action} -> {tagging.manifest.digest[:19]}"
            plan.add(
                Op.tag, target, summary, digest=tagging.manifest.digest, action=change.action, previous=change.previous
            )
    return plan
