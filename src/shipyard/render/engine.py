"""Render the config repo and the app-repo files: compute, compare, write; with a cache that makes a
no-op render close to free. Render never pushes: ``render_into`` is handed to the config repo's
``publish``, which commits and pushes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from shipyard import __version__
from shipyard.cache import Cache
from shipyard.configrepo.promotable import SEEDED
from shipyard.errors import ShipyardError
from shipyard.plan import Plan
from shipyard.render.targets import TARGETS, Target
from shipyard.render.writer import Change, apply_changes, compare_tree, plan_changes
from shipyard.spec.model import Platform
from shipyard.workspace.model import Workspace

if TYPE_CHECKING:
    from shipyard.plan.progress import Counter, Progress

CACHE_KIND = "render"


@dataclass(frozen=True)
class Tree:
    """One destination folder and the targets that write into it."""

    root: Path
    targets: Sequence[Target]

    @property
    def roots(self) -> set[str]:
        """The top-level folders the tree's targets own: orphans are looked for there, and only there."""
        return {root for target in self.targets for root in target.roots}


@dataclass
class RenderResult:
    """What a render found (and, unless checking, did)."""

    changes: list[Change] = field(default_factory=list)
    cached: bool = False

    @property
    def up_to_date(self) -> bool:
        """True when nothing differs (seeded files may differ in images only)."""
        return not self.changes

    def plan(self, command: str = "shipyard render") -> Plan:
        """The changes as a Plan."""
        plan = plan_changes(command, self.changes)
        if self.cached:
            plan.notes.append("inputs unchanged since the last render (cache hit)")
        return plan


def render_files(
    platform: Platform, workspace: Workspace, targets: Sequence[Target], counter: Counter | None = None
) -> dict[str, str]:
    """Run targets (and their checks); two targets writing the same path is a bug, reported rather than merged."""
    files: dict[str, str] = {}
    for target in targets:
        for path, text in target.files(platform, workspace).items():
            if path in files:
                raise ShipyardError(f"two render targets both produce '{path}'")
            files[path] = text
        if counter is not None:
            counter.step()
    return files


def config_trees(out: Path | None, app_dir: Path, targets: Sequence[Target] = TARGETS) -> list[Tree]:
    """The config repo checkout and the application monorepo, each with the ``targets`` that write there.

    ``out`` may be None when no config repo target is among ``targets``.
    """
    config = [t for t in targets if not t.app]
    app = [t for t in targets if t.app]
    trees = [Tree(app_dir, app)] if app else []
    if config:
        if out is None:
            raise ShipyardError(f"render targets {', '.join(t.name for t in config)} need the config repo's checkout")
        trees.insert(0, Tree(out, config))
    return trees


def compute_changes(
    platform: Platform, workspace: Workspace, trees: Sequence[Tree], progress: Progress | None = None
) -> tuple[list[Change], list[Path]]:
    """Every difference between the rendered trees and the disk, and every path the render produces.

    Every tree is rendered (and checked) before any is compared, so a failing target leaves the disk untouched.
    ``progress`` counts the targets rendered."""
    from shipyard.plan.progress import Counter

    counter = Counter(progress, "render targets", sum(len(tree.targets) for tree in trees))
    counter.start()
    rendered = [(tree, render_files(platform, workspace, tree.targets, counter)) for tree in trees]
    changes: list[Change] = []
    produced: list[Path] = []
    for tree, files in rendered:
        produced += [tree.root / path for path in files]
        changes += compare_tree(tree.root, files, SEEDED, tree.roots)
    return changes, produced


def input_key(platform: Platform, workspace: Workspace, trees: Sequence[Tree]) -> str:
    """A digest of everything a render depends on: spec, workspace, Shipyard's version, destinations."""
    package = Path(__file__).resolve().parents[1]
    data = {
        "version": __version__,
        # Shipyard's own code, so an edited (not yet released) render never reuses a stale cache.
        # The step scripts (.sh) are package data the tekton target puts into its Tasks.
        "code": sorted(
            (str(p.relative_to(package)), p.stat().st_mtime_ns)
            for p in package.rglob("*")
            if p.suffix in (".py", ".sh")
        ),
        "spec": platform.model_dump(mode="json", by_alias=True),
        "projects": sorted(
            (p.name, p.kind.value, p.path, p.language, p.npm_name or "", p.version or "")
            for p in workspace.projects.values()
        ),
        "edges": sorted((e.source, e.target) for e in workspace.edges),
        "trees": [(str(t.root.resolve()), [target.name for target in t.targets]) for t in trees],
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _stats(paths: Sequence[Path]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for path in paths:
        try:
            st = path.stat()
        except FileNotFoundError:
            continue
        found[str(path)] = [st.st_size, st.st_mtime_ns]
    return found


def _files_unchanged(recorded: object) -> bool:
    """True when every file the last render with these inputs wrote is still as it left it."""
    if not isinstance(recorded, dict):
        raise TypeError("not a render record")
    return _stats([Path(p) for p in recorded]) == recorded


def render(
    platform: Platform,
    workspace: Workspace,
    trees: Sequence[Tree],
    *,
    write: bool,
    use_cache: bool,
    cache_root: Path,
    progress: Progress | None = None,
) -> RenderResult:
    """Render into ``trees``; write when asked. The cache is consulted only when writing and allowed.

    ``progress`` counts the targets rendered, then the files written."""
    cache = Cache.for_repository(cache_root) if use_cache else Cache(None)
    key = input_key(platform, workspace, trees) if cache.folder is not None else ""
    unchanged: bool | None = cache.read(CACHE_KIND, key, _files_unchanged) if key else None
    if unchanged:
        return RenderResult(cached=True)
    changes, produced = compute_changes(platform, workspace, trees, progress)
    if write:
        apply_changes(changes, progress)
        if key:
            cache.put(CACHE_KIND, key, _stats(produced))
    return RenderResult(changes=changes)


def render_into(
    platform: Platform, workspace: Workspace, checkout: Path, app_dir: Path, targets: Sequence[Target] = TARGETS
) -> str | None:
    """Render the config repo into ``checkout`` (and the app-repo files into ``app_dir``): the commit message
    when anything changed, else None. It is the ``apply`` that ``configrepo.checkout.publish`` runs, so a
    render committed to the config repo is re-derived on the newest tip when another writer wins a race."""
    trees = config_trees(checkout, app_dir, targets)
    result = render(platform, workspace, trees, write=True, use_cache=False, cache_root=app_dir)
    return None if result.up_to_date else f"Render the config repo with shipyard {__version__}"
