"""Workspace discovery: services, packages, dependency edges, cycles and malformed files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipyard.errors import WorkspaceError
from shipyard.workspace.discovery import discover


def package(root: Path, name: str, deps: dict[str, str] | None = None, scope: str = "@acme") -> None:
    folder = root / "packages" / name
    folder.mkdir(parents=True)
    (folder / "package.json").write_text(json.dumps({"name": f"{scope}/{name}", "dependencies": deps or {}}))


def service(
    root: Path, name: str, dockerfile: str = "FROM scratch\n", manifest: dict[str, object] | None = None
) -> None:
    folder = root / "services" / name
    folder.mkdir(parents=True)
    (folder / "Dockerfile").write_text(dockerfile)
    if manifest is not None:
        (folder / "package.json").write_text(json.dumps(manifest))


def test_scaffold_is_discovered_with_its_edges(acme: Path) -> None:
    workspace = discover(acme)
    assert [p.name for p in workspace.services] == ["notification-service", "payment-service", "user-service"]
    assert [p.name for p in workspace.packages] == ["api-client", "common-types", "utils"]
    assert workspace.projects["notification-service"].language == "python"
    assert workspace.projects["user-service"].language == "node"
    assert workspace.projects["utils"].language == "typescript"
    assert workspace.dependencies("api-client") == ["common-types", "utils"]
    docker_edge = [e for e in workspace.edges if e.source == "notification-service"]
    assert [(e.target, e.via) for e in docker_edge] == [("common-types", "services/notification-service/Dockerfile:6")]
    closure = workspace.dependents_closure({"common-types"})
    assert closure["user-service"] == ["common-types", "user-service"]  # the direct edge is the shortest path
    assert discover(acme).dependents_closure({"utils"})["user-service"] == ["utils", "api-client", "user-service"]
    assert set(closure) == {
        "common-types",
        "utils",
        "api-client",
        "user-service",
        "payment-service",
        "notification-service",
    }
    order = workspace.topological_order()
    assert order.index("common-types") < order.index("utils") < order.index("api-client")


def test_workspace_protocol_and_every_dependency_section_count(tmp_path: Path) -> None:
    package(tmp_path, "a")
    package(tmp_path, "b", {"@acme/a": "workspace:*"})
    folder = tmp_path / "packages" / "c"
    folder.mkdir(parents=True)
    (folder / "package.json").write_text(
        json.dumps({"name": "@acme/c", "devDependencies": {"@acme/b": "^1"}, "peerDependencies": {"@acme/a": "*"}})
    )
    workspace = discover(tmp_path)
    assert {(e.source, e.target) for e in workspace.edges} == {("b", "a"), ("c", "b"), ("c", "a")}


def test_dockerfile_copy_forms(tmp_path: Path) -> None:
    for name in ("x", "y", "z"):
        package(tmp_path, name)
    service(
        tmp_path,
        "svc",
        "FROM scratch\nCOPY --chown=1000 packages/x/dist /app/x\n"
        "COPY \\\n  ./packages/y \\\n  /app/y\nADD packages/z/ /z\nCOPY services/svc/src /src\n"
        "# COPY packages/none /none\n",
    )
    workspace = discover(tmp_path)
    assert {(e.target, e.via) for e in workspace.edges} == {
        ("x", "services/svc/Dockerfile:2"),
        ("y", "services/svc/Dockerfile:3"),
        ("z", "services/svc/Dockerfile:6"),
    }


def test_folders_without_markers_are_not_projects(tmp_path: Path) -> None:
    (tmp_path / "services" / "no-dockerfile").mkdir(parents=True)
    (tmp_path / "packages" / "no-manifest").mkdir(parents=True)
    assert discover(tmp_path).projects == {}


def test_cycle_is_an_error_naming_it(tmp_path: Path) -> None:
    package(tmp_path, "a", {"@acme/c": "*"})
    package(tmp_path, "b", {"@acme/a": "*"})
    package(tmp_path, "c", {"@acme/b": "*"})
    with pytest.raises(WorkspaceError, match=r"dependency cycle: a -> c -> b -> a"):
        discover(tmp_path)


def test_malformed_package_json_names_the_file_and_position(tmp_path: Path) -> None:
    folder = tmp_path / "packages" / "broken"
    folder.mkdir(parents=True)
    (folder / "package.json").write_text('{\n  "name": "@acme/broken",\n  "version": 1.0.0\n}\n')
    with pytest.raises(WorkspaceError, match=r"packages/broken/package.json:3:\d+: not valid JSON"):
        discover(tmp_path)


def test_dependencies_must_be_an_object(tmp_path: Path) -> None:
    folder = tmp_path / "packages" / "odd"
    folder.mkdir(parents=True)
    (folder / "package.json").write_text('{"name": "@acme/odd", "dependencies": ["x"]}')
    with pytest.raises(WorkspaceError, match="'dependencies' must be an object"):
        discover(tmp_path)


def test_duplicate_project_names_are_refused(tmp_path: Path) -> None:
    package(tmp_path, "same")
    service(tmp_path, "same")
    with pytest.raises(WorkspaceError, match="both a service and a package"):
        discover(tmp_path)


def test_project_of_maps_paths(acme: Path) -> None:
    workspace = discover(acme)
    project = workspace.project_of("packages/utils/src/index.ts")
    assert project is not None and project.name == "utils"
    assert workspace.project_of("docs/architecture.md") is None
    assert workspace.project_of("README.md") is None
