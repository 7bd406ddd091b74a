"""Build once, promote by digest: the stable release reuses the last beta when main's tree is the same."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shipyard.ci.stable import stable_source
from shipyard.errors import ShipyardError
from shipyard.git import Git

pytestmark = pytest.mark.integration


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q")
    (root / "a.txt").write_text("one\n")
    _git(root, "add", ".")
    _git(root, "commit", "-qm", "start")
    _git(root, "tag", "-a", "v1.2.0-beta.1", "-m", "beta 1")
    (root / "a.txt").write_text("two\n")
    _git(root, "commit", "-qam", "fix")
    _git(root, "tag", "-a", "v1.2.0-beta.2", "-m", "beta 2")
    _git(root, "tag", "-a", "v1.2.0-beta.10", "-m", "beta 10, on the same commit: SemVer order, not text order")
    return root


def test_same_tree_retags_the_highest_beta(repo: Path) -> None:
    _git(repo, "commit", "-q", "--allow-empty", "-m", "Merge release/v1.2.0")
    decision = stable_source(Git(repo), "v1.2.0")
    assert (decision.mode, decision.source_tag) == ("retag", "v1.2.0-beta.10")


def test_a_changed_tree_builds_and_says_why(repo: Path) -> None:
    (repo / "b.txt").write_text("late change\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "late")
    decision = stable_source(Git(repo), "v1.2.0")
    assert decision.mode == "build"
    assert "b.txt" in decision.reason
    assert decision.source_tag == "v1.2.0-beta.10"


def test_no_beta_builds(repo: Path) -> None:
    decision = stable_source(Git(repo), "v2.0.0")
    assert decision.mode == "build"
    assert "no beta of 2.0.0" in decision.reason
    with pytest.raises(ShipyardError, match="not a stable version"):
        stable_source(Git(repo), "v2.0.0-beta.1")


def test_the_cli_reads_the_workspace_tag_prefix(tmp_path: Path) -> None:
    def shipyard(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "shipyard", *args], cwd=cwd, capture_output=True, text=True)

    assert shipyard("init", "--org", "acme", "--domain", "acme.example.com", "mono", cwd=tmp_path).returncode == 0
    root = tmp_path / "mono"
    with (root / "shipyard.yaml").open("a") as spec:
        spec.write("versioning:\n  tagPrefix: release-\n")
    _git(root, "commit", "-qam", "tags are release-X.Y.Z")
    _git(root, "tag", "-a", "release-1.4.0-beta.1", "-m", "beta 1")
    result = shipyard("ci", "stable-source", "--version", "release-1.4.0", "--root", str(root), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("retag: HEAD's tree is release-1.4.0-beta.1's")
