"""Cross-check with Turborepo: on generated workspaces, `turbo ls --affected` and Shipyard name the same projects
wherever their rules agree (package.json dependencies, files inside packages, global
files, npm lockfile entries). Where they differ by design (Dockerfile edges, ignored docs, the root package.json,
removed projects) the cases are left out and docs/affected.md says so."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from benchmarks.affected.monorepo import Graph, Shape, generate
from shipyard.git import Git
from shipyard.workspace.affected import Rules, find_affected
from tests.realparts import REPO_ROOT, missing

pytestmark = pytest.mark.integration

RULES = Rules(global_files=("tsconfig.base.json",), ignore=("docs/**",))


@pytest.fixture(scope="module")
def turbo() -> str:
    path = REPO_ROOT / ".tools" / "npm-test" / "node_modules" / ".bin" / "turbo"
    if not path.exists():
        missing("turbo", "`make test-deps` installs it from deps/npm-test/package.json")
    return str(path)


def turbo_affected(turbo: str, repo: Path, base: str, head: str = "HEAD") -> set[str]:
    env = {
        **os.environ,
        "TURBO_SCM_BASE": base,
        "TURBO_SCM_HEAD": head,
        "TURBO_TELEMETRY_DISABLED": "1",
        "DO_NOT_TRACK": "1",
        "TURBO_NO_UPDATE_NOTIFIER": "1",
    }
    proc = subprocess.run(
        [turbo, "ls", "--affected", "--output=json"], cwd=repo, env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    items = json.loads(proc.stdout[proc.stdout.index("{") :])["packages"]["items"]
    return {item["path"].split("/", 1)[1] for item in items}


def shipyard_affected(repo: Path, base: str, head: str = "HEAD") -> set[str]:
    result, _ = find_affected(repo, RULES, base, head)
    return {*result.services, *result.packages}


@pytest.mark.parametrize(("seed", "graph"), [(1, "layered"), (2, "layered"), (4, "chains"), (5, "fan-in")])
def test_same_projects_as_turbo_over_history(turbo: str, tmp_path: Path, seed: int, graph: Graph) -> None:
    repo = tmp_path / "mono"
    generate(repo, Shape(services=6, packages=24, source_files=3, commits=60, seed=seed, graph=graph))
    for depth in (1, 3, 10, 59):
        base = f"HEAD~{depth}"
        ours = shipyard_affected(repo, base)
        assert ours, "a range of changed source files affects something"
        assert ours == turbo_affected(turbo, repo, base), base


def test_same_projects_as_turbo_for_global_and_lockfile_changes(turbo: str, tmp_path: Path) -> None:
    repo = tmp_path / "mono"
    generate(repo, Shape(services=4, packages=12, source_files=2, commits=3, seed=3))
    git = Git(repo)

    def change(message: str, edit: dict[str, str]) -> str:
        before = git.rev_parse("HEAD")
        for relative, text in edit.items():
            (repo / relative).write_text(text, encoding="utf-8")
        git.commit(message)
        return before

    # A file outside every package: Turborepo gives it to the root package (not a project), Shipyard to no one.
    base = change("tooling", {"Makefile": "all:\n"})
    assert shipyard_affected(repo, base) == turbo_affected(turbo, repo, base) == set()

    # A global file (turbo.json globalDependencies, shipyard.yaml workspace.globalFiles): everything, for both.
    base = change("compiler settings", {"tsconfig.base.json": '{"compilerOptions": {"strict": false}}\n'})
    everything = shipyard_affected(repo, base)
    assert len(everything) == 16
    assert everything == turbo_affected(turbo, repo, base)

    # An external dependency of one package, bumped in package-lock.json: that package and its dependents.
    lock = json.loads((repo / "package-lock.json").read_text())
    lock["packages"]["packages/pkg-0002"]["dependencies"] = {"left-pad": "^1.3.0"}
    lock["packages"]["node_modules/left-pad"] = {"version": "1.3.0", "license": "WTFPL"}
    pkg = json.loads((repo / "packages/pkg-0002/package.json").read_text())
    pkg["dependencies"]["left-pad"] = "^1.3.0"
    change(
        "add left-pad",
        {
            "package-lock.json": json.dumps(lock, indent=2) + "\n",
            "packages/pkg-0002/package.json": json.dumps(pkg, indent=2) + "\n",
        },
    )
    lock["packages"]["node_modules/left-pad"]["version"] = "1.3.1"
    base = change("bump left-pad", {"package-lock.json": json.dumps(lock, indent=2) + "\n"})
    ours = shipyard_affected(repo, base)
    assert "pkg-0002" in ours and len(ours) < 16
    assert ours == turbo_affected(turbo, repo, base)
