"""Finding services and packages on disk and the dependency edges between them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.bounded import MAX_DEPTH, MIB, InputError, TooComplex, check_depth, decode_text, read_bytes
from shipyard.errors import WorkspaceError
from shipyard.workspace.model import Edge, Project, ProjectKind, Workspace

DEPENDENCY_FIELDS = ("dependencies", "devDependencies", "peerDependencies", "optionalDependencies")
# `COPY packages/utils ./utils`, `COPY --chown=node packages/utils/ /x`, `ADD packages/utils/dist /x`
_COPY = re.compile(r"\s*(?:COPY|ADD)\b(?P<args>.*)", re.IGNORECASE)
_PACKAGE_SOURCE = re.compile(r"^(?:\./)?packages/(?P<name>[^/\s*?]+)")


MAX_PROJECT_FILE = 4 * MIB
"""The size limit of a package.json or Dockerfile read from the workspace."""
# A service's folder name is its Kubernetes name, its image repository's last part and its host's label.
_SERVICE_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", re.ASCII)

# Files whose presence in a project folder tells its language.
LANGUAGE_MARKERS = ("tsconfig.json", "pyproject.toml", "requirements.txt", "go.mod")


@dataclass(frozen=True)
class Candidate:
    """A folder under ``services/`` or ``packages/`` as read from some source (disk or a git commit).

    ``manifest`` and ``dockerfile`` hold the text of package.json and Dockerfile (None when absent);
    ``markers`` names the LANGUAGE_MARKERS present.
    """

    kind: ProjectKind
    name: str
    manifest: str | None
    dockerfile: str | None
    markers: frozenset[str] = frozenset()


def discover(root: Path) -> Workspace:
    """Read the monorepo at ``root``: ``services/*`` with a Dockerfile, ``packages/*`` with a package.json."""
    root = root.resolve()
    candidates: list[Candidate] = []
    for kind, folder in ((ProjectKind.package, "packages"), (ProjectKind.service, "services")):
        base = root / folder
        if not base.is_dir():
            continue
        for directory in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
            manifest_path = directory / "package.json"
            dockerfile = directory / "Dockerfile"
            candidates.append(
                Candidate(
                    kind=kind,
                    name=directory.name,
                    manifest=_read_text(manifest_path, root) if manifest_path.is_file() else None,
                    dockerfile=(
                        _read_text(dockerfile, root, errors="replace")
                        if kind is ProjectKind.service and dockerfile.is_file()
                        else None
                    ),
                    markers=frozenset(m for m in LANGUAGE_MARKERS if (directory / m).is_file()),
                )
            )
    return build_workspace(root, candidates)


def build_workspace(root: Path, candidates: Iterable[Candidate]) -> Workspace:
    """The workspace made of ``candidates``: services need a Dockerfile, packages a package.json."""
    projects: dict[str, Project] = {}
    manifests: dict[str, dict[str, Any]] = {}
    dockerfiles: dict[str, str] = {}

    for candidate in sorted(candidates, key=lambda c: (c.kind is ProjectKind.service, c.name)):
        folder = "services" if candidate.kind is ProjectKind.service else "packages"
        path = f"{folder}/{candidate.name}"
        if candidate.name.startswith("."):
            continue
        if candidate.kind is ProjectKind.service:
            if candidate.dockerfile is None:
                continue
            if not _SERVICE_NAME.fullmatch(candidate.name):
                raise WorkspaceError(
                    f"{path}: {candidate.name!r} cannot be a service's name: it becomes its Kubernetes name, image "
                    "and host, so it must be a DNS label",
                    hint="rename the folder: at most 63 lower-case letters, digits and '-', starting and ending "
                    "with a letter or digit",
                )
            dockerfiles[candidate.name] = candidate.dockerfile
        elif candidate.manifest is None:
            continue
        manifest = (
            _parse_manifest(candidate.manifest, f"{path}/package.json") if candidate.manifest is not None else None
        )
        if candidate.name in projects:
            raise WorkspaceError(
                f"'{candidate.name}' is both a service and a package; project names must be unique",
                hint=f"rename services/{candidate.name} or packages/{candidate.name}",
            )
        projects[candidate.name] = Project(
            name=candidate.name,
            kind=candidate.kind,
            path=path,
            language=_language(candidate.markers, manifest),
            npm_name=_str(manifest.get("name")) if manifest else None,
            version=_str(manifest.get("version")) if manifest else None,
        )
        if manifest is not None:
            manifests[candidate.name] = manifest

    by_npm_name = {p.npm_name: p.name for p in projects.values() if p.npm_name and not p.is_service}
    edges: set[Edge] = set()
    for name, manifest in manifests.items():
        for section in DEPENDENCY_FIELDS:
            deps = manifest.get(section) or {}
            if not isinstance(deps, dict):
                raise WorkspaceError(f"{projects[name].path}/package.json: '{section}' must be an object")
            for dep in deps:
                target = by_npm_name.get(dep)
                if target and target != name:
                    edges.add(Edge(name, target, f"{projects[name].path}/package.json {section}"))
    for name, dockerfile in dockerfiles.items():
        for target, line_no in _dockerfile_packages(dockerfile):
            if target in projects and not projects[target].is_service and target != name:
                edges.add(Edge(name, target, f"{projects[name].path}/Dockerfile:{line_no}"))

    ordered = tuple(sorted(edges, key=lambda e: (e.source, e.target, e.via)))
    _check_acyclic(projects, ordered)
    return Workspace(root=root, projects=dict(sorted(projects.items())), edges=ordered)


def _read_text(path: Path, root: Path, errors: str = "strict") -> str:
    """A project file's text, at most MAX_PROJECT_FILE bytes; ``errors="replace"`` for files only scanned."""
    relative = str(path.relative_to(root))
    try:
        data = read_bytes(path, MAX_PROJECT_FILE, relative)
        return data.decode("utf-8", errors) if errors != "strict" else decode_text(data, relative)
    except InputError as exc:
        raise WorkspaceError(exc.message) from None


def _parse_manifest(text: str, where: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
        check_depth(data, MAX_DEPTH, where)
    except json.JSONDecodeError as exc:
        raise WorkspaceError(f"{where}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    except (RecursionError, TooComplex):
        raise WorkspaceError(f"{where}: nests deeper than {MAX_DEPTH} levels: refused") from None
    except ValueError as exc:  # an integer past Python's digit limit
        raise WorkspaceError(f"{where}: not valid JSON: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise WorkspaceError(f"{where}: a package.json must hold a JSON object")
    return data


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _language(markers: frozenset[str], manifest: dict[str, Any] | None) -> str:
    if manifest is not None:
        return "typescript" if "tsconfig.json" in markers else "node"
    if "pyproject.toml" in markers or "requirements.txt" in markers:
        return "python"
    if "go.mod" in markers:
        return "go"
    return "unknown"


def _dockerfile_packages(text: str) -> list[tuple[str, int]]:
    """Packages a Dockerfile copies in with ``COPY packages/<name>`` (line continuations honoured)."""
    found: list[tuple[str, int]] = []
    logical = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not logical:
            start = number
        if raw.rstrip().endswith("\\"):
            logical += raw.rstrip()[:-1] + " "
            continue
        logical += raw
        match = _COPY.fullmatch(logical)
        if match:
            args = [a for a in match.group("args").split() if not a.startswith("--")]
            for source in args[:-1]:  # the last argument is the destination
                package = _PACKAGE_SOURCE.match(source.strip("\"'[],"))
                if package:
                    found.append((package.group("name"), start))
        logical = ""
    return found


def _check_acyclic(projects: dict[str, Project], edges: tuple[Edge, ...]) -> None:
    unsorted: dict[str, set[str]] = {name: set() for name in projects}
    for edge in edges:
        unsorted[edge.source].add(edge.target)
    graph = {name: sorted(targets) for name, targets in unsorted.items()}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for start in sorted(graph):
        if state.get(start):
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        path: list[str] = [start]
        state[start] = 1
        while stack:
            node, index = stack[-1]
            targets = graph[node]
            if index < len(targets):
                stack[-1] = (node, index + 1)
                target = targets[index]
                if state.get(target) == 1:
                    cycle = [*path[path.index(target) :], target]
                    raise WorkspaceError(
                        f"dependency cycle: {' -> '.join(cycle)}",
                        hint="a workspace package may not depend, directly or through others, on itself",
                    )
                if not state.get(target):
                    state[target] = 1
                    stack.append((target, 0))
                    path.append(target)
            else:
                state[node] = 2
                stack.pop()
                path.pop()
