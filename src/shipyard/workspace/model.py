"""Workspace data: projects and the edges between them. Plain frozen dataclasses: discovery runs in
every CI step, on monorepos of thousands of projects, so it stays cheap to build."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any


class ProjectKind(StrEnum):
    """A service becomes an image; a package becomes an npm package."""

    service = "service"
    package = "package"


@dataclass(frozen=True)
class Project:
    """A service (``services/<name>`` with a Dockerfile) or a package (``packages/<name>`` with package.json)."""

    name: str
    kind: ProjectKind
    path: str
    language: str
    npm_name: str | None = None
    version: str | None = None

    @property
    def is_service(self) -> bool:
        """True for services, False for packages."""
        return self.kind is ProjectKind.service


@dataclass(frozen=True)
class Edge:
    """``source`` depends on ``target``; ``via`` says where the dependency is declared."""

    source: str
    target: str
    via: str


@dataclass(frozen=True)
class Workspace:
    """Projects by name (names are unique across services and packages) and their dependency edges."""

    root: Path
    projects: dict[str, Project]
    edges: tuple[Edge, ...]
    _dependents: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False, compare=False)
    _by_path: dict[str, Project] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        reverse: dict[str, list[str]] = {name: [] for name in self.projects}
        for edge in self.edges:
            reverse[edge.target].append(edge.source)
        self._dependents.update({k: tuple(sorted(set(v))) for k, v in reverse.items()})
        self._by_path.update({p.path: p for p in self.projects.values()})

    @property
    def services(self) -> list[Project]:
        """Services, sorted by name."""
        return sorted((p for p in self.projects.values() if p.is_service), key=lambda p: p.name)

    @property
    def packages(self) -> list[Project]:
        """Packages, sorted by name."""
        return sorted((p for p in self.projects.values() if not p.is_service), key=lambda p: p.name)

    def dependencies(self, name: str) -> list[str]:
        """The projects ``name`` depends on directly, sorted."""
        return sorted({e.target for e in self.edges if e.source == name})

    def dependents(self, name: str) -> tuple[str, ...]:
        """The projects that depend directly on ``name``, sorted."""
        return self._dependents.get(name, ())

    def dependents_closure(self, names: set[str]) -> dict[str, list[str]]:
        """Every project that depends on any of ``names``, transitively, with the path that reaches it.

        The path runs from the changed project to the dependent, shortest first (breadth-first).
        """
        paths: dict[str, list[str]] = {name: [name] for name in names}
        queue = deque(sorted(names))
        while queue:
            current = queue.popleft()
            for dependent in self._dependents.get(current, ()):
                if dependent not in paths:
                    paths[dependent] = [*paths[current], dependent]
                    queue.append(dependent)
        return paths

    def topological_order(self, names: set[str] | None = None) -> list[str]:
        """Projects ordered so that each comes after everything it depends on (ties by name)."""
        wanted = set(self.projects) if names is None else names
        deps = {n: {e.target for e in self.edges if e.source == n and e.target in wanted} for n in wanted}
        order: list[str] = []
        ready = sorted(n for n, d in deps.items() if not d)
        while ready:
            current = ready.pop(0)
            order.append(current)
            for dependent in self._dependents.get(current, ()):
                if dependent in deps and current in deps[dependent]:
                    deps[dependent].discard(current)
                    if not deps[dependent]:
                        ready.append(dependent)
                        ready.sort()
        return order

    def to_json(self) -> dict[str, Any]:
        """Projects and edges as JSON data (for the cache); the root is not part of it."""
        rows = [[p.name, p.kind.value, p.path, p.language, p.npm_name, p.version] for p in self.projects.values()]
        return {
            "projects": rows,
            "edges": [[e.source, e.target, e.via] for e in self.edges],
        }

    @classmethod
    def from_json(cls, root: Path, data: Any) -> Workspace:
        """The workspace ``to_json`` wrote, at ``root``; KeyError, TypeError or ValueError on other data."""
        projects = {}
        for name, kind, path, language, npm_name, version in data["projects"]:
            projects[name] = Project(name, ProjectKind(kind), path, language, npm_name, version)
        edges = tuple(Edge(source, target, via) for source, target, via in data["edges"])
        if any(e.source not in projects or e.target not in projects for e in edges):
            raise ValueError("an edge names an unknown project")
        return cls(root, projects, edges)

    def project_of(self, path: str) -> Project | None:
        """The project a repository-relative file path belongs to, if any."""
        parts = path.split("/", 2)
        if len(parts) >= 2:
            return self._by_path.get(f"{parts[0]}/{parts[1]}")
        return None
