"""Which workspace projects a lockfile change touches, entry by entry.

A lockfile is read as a graph: *importers* (the workspace folders and the root) depend on *entries*
(installed external packages), and entries depend on other entries. A changed entry affects every
importer that reaches it, in the old lockfile or the new one; a changed importer affects itself.
Anything that cannot be attributed to single importers (the root's own dependencies, settings,
overrides, a format we cannot read) affects everything, and says why.

Supported: npm ``package-lock.json`` v2/v3 (the ``packages`` map) and ``pnpm-lock.yaml`` v6 to v9.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

NPM_LOCKFILE = "package-lock.json"
PNPM_LOCKFILE = "pnpm-lock.yaml"
SUPPORTED = (NPM_LOCKFILE, PNPM_LOCKFILE)
# Lockfiles we cannot attribute per package: any change to them affects everything.
OTHER_LOCKFILES = ("npm-shrinkwrap.json", "yarn.lock", "bun.lock", "bun.lockb")

_NPM_DEP_FIELDS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")
_PNPM_DEP_FIELDS = ("dependencies", "devDependencies", "optionalDependencies")
# Root metadata that npm copies into the lockfile; it changes nothing that gets built.
_NPM_ROOT_METADATA = ("name", "version")


class LockfileUnreadable(Exception):
    """The lockfile's text is not a format we can compare entry by entry."""


@dataclass
class LockGraph:
    """A lockfile as a dependency graph. ``settings`` is everything that is not per package."""

    settings: Any
    importers: dict[str, Any] = field(default_factory=dict)  # workspace folder ("" = root) -> its entry
    entries: dict[str, Any] = field(default_factory=dict)  # external package key -> its entry
    edges: dict[str, set[str]] = field(default_factory=dict)  # importer or entry key -> entry keys

    def reverse(self) -> dict[str, set[str]]:
        """Entry key -> the importers and entries that depend on it."""
        reverse: dict[str, set[str]] = {}
        for source, targets in self.edges.items():
            for target in targets:
                reverse.setdefault(target, set()).add(source)
        return reverse


@dataclass(frozen=True)
class LockfileChange:
    """The outcome of comparing two versions of a lockfile.

    ``everything`` says why every project is affected (None when the change could be attributed);
    ``importers`` maps a workspace folder to why it is affected.
    """

    everything: str | None = None
    importers: dict[str, str] = field(default_factory=dict)


def compare(name: str, base: str | None, head: str | None) -> LockfileChange:
    """Compare the lockfile ``name`` (a file name from SUPPORTED) at the base and at the head."""
    if base is None or head is None:
        return LockfileChange(everything=f"{name} was {'added' if base is None else 'deleted'}")
    try:
        old, new = parse(name, base), parse(name, head)
    except LockfileUnreadable as exc:
        return LockfileChange(everything=f"{name}: {exc}; cannot compare it per package")
    if old.settings != new.settings:
        return LockfileChange(everything=f"{name}: workspace-wide settings changed")
    if old.importers.get("") != new.importers.get(""):
        return LockfileChange(everything=f"{name}: the root's dependencies changed")

    found: dict[str, str] = {}
    for folder in sorted(set(old.importers) | set(new.importers)):
        if folder and old.importers.get(folder) != new.importers.get(folder):
            found[folder] = f"{name}: its entry {folder} changed"
    changed = {k for k in set(old.entries) | set(new.entries) if old.entries.get(k) != new.entries.get(k)}
    for graph in (old, new):
        for folder, entry in _importers_reaching(graph, changed).items():
            if folder == "":
                return LockfileChange(
                    everything=f"{name}: {entry}, a dependency of the root (workspace-wide tooling), changed"
                )
            found.setdefault(folder, f"{name}: its dependency {entry} changed")
    return LockfileChange(importers=found)


LOCKFILE_BYTES = 256 * 1024 * 1024
"""The size limit of a lockfile read to compare two commits."""
LOCKFILE_DEPTH = 100
LOCKFILE_NODES = 50_000_000


def parse(name: str, text: str) -> LockGraph:
    """Read a lockfile into a LockGraph; LockfileUnreadable when its format is not one we support."""
    if len(text) > LOCKFILE_BYTES:
        raise LockfileUnreadable(f"larger than {LOCKFILE_BYTES >> 20} MiB")
    if name == NPM_LOCKFILE:
        return _parse_npm(text)
    if name == PNPM_LOCKFILE:
        return _parse_pnpm(text)
    raise LockfileUnreadable(f"unsupported lockfile {name}")


def _importers_reaching(graph: LockGraph, changed: set[str]) -> dict[str, str]:
    """Importer -> one changed entry it depends on, directly or through other entries."""
    reverse = graph.reverse()
    origin: dict[str, str] = {}
    queue: deque[str] = deque()
    for key in sorted(changed):
        if key in graph.entries or key in reverse:
            origin[key] = key
            queue.append(key)
    reached: dict[str, str] = {}
    while queue:
        current = queue.popleft()
        for source in sorted(reverse.get(current, ())):
            if source in origin:
                continue
            origin[source] = origin[current]
            if source in graph.importers:
                reached[source] = origin[current]
            else:
                queue.append(source)
    return reached


# npm: package-lock.json v2/v3. Keys of `packages` are install locations: "" is the root, a folder
# without node_modules is a workspace, "node_modules/x" and "a/node_modules/x" are installed packages.


def _parse_npm(text: str) -> LockGraph:
    from shipyard.bounded import TooComplex, check_depth

    try:
        data = json.loads(text)
        check_depth(data, LOCKFILE_DEPTH, "the lockfile")
    except json.JSONDecodeError as exc:
        raise LockfileUnreadable(f"not valid JSON (line {exc.lineno})") from None
    except (RecursionError, TooComplex):
        raise LockfileUnreadable(f"nests deeper than {LOCKFILE_DEPTH} levels") from None
    except ValueError as exc:  # an integer past Python's digit limit
        raise LockfileUnreadable(f"not valid JSON ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict) or not isinstance(data.get("packages"), dict):
        raise LockfileUnreadable("no 'packages' map (lockfileVersion 1?)")
    version = data.get("lockfileVersion")
    if version not in (2, 3):
        raise LockfileUnreadable(f"lockfileVersion {version!r} (2 or 3 can be compared)")
    packages: dict[str, Any] = data["packages"]
    # The v2 "dependencies" section repeats `packages` for npm 6; `packages` is the source of truth.
    settings = {k: v for k, v in data.items() if k not in ("packages", "dependencies", *_NPM_ROOT_METADATA)}
    graph = LockGraph(settings=settings)
    for key, entry in packages.items():
        if not isinstance(entry, dict):
            raise LockfileUnreadable(f"entry {key!r} is not an object")
        if key == "":
            graph.importers[""] = {k: v for k, v in entry.items() if k not in _NPM_ROOT_METADATA}
        elif "node_modules/" in f"{key}/" and not key.startswith("../"):
            graph.entries[key] = entry
        else:
            graph.importers[key] = entry
    for key, entry in packages.items():
        if entry.get("link"):
            continue  # a workspace link: the workspace graph carries that dependency
        names = {n for f in _NPM_DEP_FIELDS if isinstance(entry.get(f), dict) for n in entry[f]}
        targets = {t for t in (_npm_resolve(packages, key, n) for n in names) if t is not None}
        if targets:
            graph.edges[key] = targets
    return graph


def _npm_resolve(packages: Mapping[str, Any], location: str, dependency: str) -> str | None:
    """Where Node finds ``dependency`` from ``location``: the nearest node_modules folder up the tree."""
    parts = location.split("/") if location else []
    for end in range(len(parts), -1, -1):
        # "x/node_modules" and a scope folder "x/node_modules/@s" are never package folders themselves.
        if end and (parts[end - 1] == "node_modules" or parts[end - 1].startswith("@")):
            continue
        folder = "/".join(parts[:end])
        candidate = f"{folder}/node_modules/{dependency}" if folder else f"node_modules/{dependency}"
        if candidate in packages:
            return candidate
    return None


# pnpm: pnpm-lock.yaml v6 ("/name@1.0.0" keys, dependencies inline) and v9 (`packages` holds
# metadata as "name@1.0.0", `snapshots` the dependency graph as "name@1.0.0(peer@2.0.0)").


def _parse_pnpm(text: str) -> LockGraph:
    from shipyard.bounded import InputError, load_yaml

    try:
        # A big monorepo's lockfile has millions of values: the limits are the lockfile's own.
        data = load_yaml(text, "the lockfile", limit=LOCKFILE_BYTES, max_depth=LOCKFILE_DEPTH, max_nodes=LOCKFILE_NODES)
    except InputError as exc:
        raise LockfileUnreadable(exc.message.removeprefix("the lockfile: ")) from None
    if not isinstance(data, dict):
        raise LockfileUnreadable("not a YAML mapping")
    version = str(data.get("lockfileVersion", ""))
    major = version.split(".", 1)[0]
    if major not in ("6", "7", "8", "9"):
        raise LockfileUnreadable(f"lockfileVersion {version!r} (6.0 to 9.0 can be compared)")
    v6 = major in ("6", "7", "8")
    settings = {k: v for k, v in data.items() if k not in ("importers", "packages", "snapshots")}
    graph = LockGraph(settings=settings)
    importers = data.get("importers")
    if importers is None:  # a lockfile without workspaces: the root is the only importer
        importers = {".": {f: data.get(f) for f in _PNPM_DEP_FIELDS if data.get(f)}}
        graph.settings = {k: v for k, v in settings.items() if k not in _PNPM_DEP_FIELDS}
    packages = data.get("packages") or {}
    snapshots = data.get("snapshots") or {}
    if not isinstance(importers, dict) or not isinstance(packages, dict) or not isinstance(snapshots, dict):
        raise LockfileUnreadable("importers, packages and snapshots must be mappings")

    def key(name: str, version: Any) -> str | None:
        text = str(version)
        if text.startswith("link:"):
            return None  # a workspace link: the workspace graph carries that dependency
        if v6:
            return text if text.startswith("/") else f"/{name}@{text}"
        # An alias ("npm:x@1" in the manifest) is written as the full key "x@1.0.0".
        return text if "@" in text.lstrip("@") else f"{name}@{text}"

    for folder, entry in importers.items():
        path = "" if folder == "." else str(folder)
        graph.importers[path] = entry
        graph.edges[path] = _pnpm_targets(entry, key, versions_are_dicts=True)
    if v6:
        for name, entry in packages.items():
            graph.entries[str(name)] = entry
            graph.edges[str(name)] = _pnpm_targets(entry, key, versions_are_dicts=False)
    else:
        # A snapshot's identity includes its metadata: "x@1.0.0(peer@2)" uses packages["x@1.0.0"].
        for name, entry in snapshots.items():
            graph.entries[str(name)] = {"snapshot": entry, "package": packages.get(str(name).split("(", 1)[0])}
            graph.edges[str(name)] = _pnpm_targets(entry, key, versions_are_dicts=False)
        in_snapshots = {str(s).split("(", 1)[0] for s in snapshots}
        for name, entry in packages.items():
            if str(name) not in in_snapshots:
                graph.entries[str(name)] = {"snapshot": None, "package": entry}
    return graph


def _pnpm_targets(entry: Any, key: Any, *, versions_are_dicts: bool) -> set[str]:
    targets: set[str] = set()
    if not isinstance(entry, dict):
        return targets
    for section in _PNPM_DEP_FIELDS:
        deps = entry.get(section)
        if not isinstance(deps, dict):
            continue
        for name, spec in deps.items():
            version = spec.get("version") if versions_are_dicts and isinstance(spec, dict) else spec
            target = key(str(name), version)
            if target is not None:
                targets.add(target)
    return targets
