"""Shallow clones (what CI checkouts usually are): detected, deepened just enough, or told exactly what to
fetch; never a guessed version."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from shipyard.gitflow.git import Git
from shipyard.versioning.compute import compute_version
from shipyard.versioning.history import ShallowCloneError
from tests.integration.versioning_support import make_repo, stamp
from tests.realparts import need_binary

pytestmark = pytest.mark.integration


def test_shallow_clone_is_deepened_just_enough(tmp_path: Path) -> None:
    need_binary("git")
    repo = make_repo(tmp_path)
    for number in range(1, 201):
        repo.commit(f"feat: {number}")
        if number == 20:
            repo.run("tag", "-a", "-m", "alpha", f"v0.1.0-alpha.{stamp(repo.clock)}")
        if number == 30:
            repo.run("branch", "release/v0.1.0")
    repo.push("develop", "release/v0.1.0", "--tags")
    full = compute_version(repo.path)
    assert full.version.startswith("v0.2.0-alpha.")

    shallow = tmp_path / "ci"
    url = repo.remote.as_uri()
    subprocess.run(["git", "clone", "--quiet", "--depth", "5", "--branch", "develop", url, str(shallow)], check=True)
    git = Git(shallow)
    assert git.is_shallow()
    with pytest.raises(ShallowCloneError) as refused:
        compute_version(shallow, fetch=False)
    assert "git fetch --deepen=" in str(refused.value) and "origin" in str(refused.value)
    assert "shallow clone" in str(refused.value)

    # Allowed to fetch: it deepens until the alpha before HEAD is in reach, and answers as a full clone does
    # (the release branch cut, which a single-branch clone does not have, is read from the remote).
    assert compute_version(shallow) == full
    assert git.is_shallow()
    assert int(git.run("rev-list", "--count", "HEAD")) < int(repo.git.run("rev-list", "--count", "HEAD"))


def test_shallow_clone_without_a_remote_says_what_to_fetch(tmp_path: Path) -> None:
    need_binary("git")
    repo = make_repo(tmp_path)
    for number in range(10):
        repo.commit(f"feat: {number}")
    repo.push("develop")
    shallow = tmp_path / "ci"
    url = repo.remote.as_uri()
    subprocess.run(["git", "clone", "--quiet", "--depth", "2", "--branch", "develop", url, str(shallow)], check=True)
    subprocess.run(["git", "-C", str(shallow), "remote", "remove", "origin"], check=True)
    with pytest.raises(ShallowCloneError, match="unshallow"):
        compute_version(shallow)
