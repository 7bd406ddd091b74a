"""Shallow clones (what CI checkouts usually are): detected, deepened just enough, or told exactly what to
fetch; never a guessed version."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from shipyard.git import Git
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


def _ci_clone(repo_url: str, branch: str, into: Path) -> Git:
    subprocess.run(["git", "clone", "--quiet", "--depth", "1", "--branch", branch, repo_url, str(into)], check=True)
    return Git(into)


def test_release_tag_on_develop_in_a_shallow_clone_fetches_only_the_history_it_walks(tmp_path: Path) -> None:
    from shipyard.versioning.tagging import tag_release

    need_binary("git")
    repo = make_repo(tmp_path)
    for number in range(1, 301):
        repo.commit(f"feat: {number}")
        if number % 10 == 0 and number < 290:
            repo.run("tag", "-a", "-m", "alpha", f"v0.1.0-alpha.{stamp(repo.clock)}")
    repo.push("develop", "--tags")
    url = repo.remote.as_uri()
    expected, _ = tag_release(_ci_clone(url, "develop", tmp_path / "full").path, dry_run=True, remote="origin")

    ci = _ci_clone(url, "develop", tmp_path / "ci")
    info, _ = tag_release(ci.path, remote="origin")

    assert info.version == expected.version and info.pending == expected.pending
    assert [p.commit for p in info.pending] == ci.run("rev-list", "--reverse", "HEAD~20..HEAD").split()
    assert {p.tag for p in info.pending} <= set(repo.remote_tags())
    # Fetching every tag would have brought the history behind each, all 301 commits.
    assert ci.is_shallow() and int(ci.run("rev-list", "--all", "--count")) < 100


def test_release_tag_in_a_shallow_release_branch_clone_answers_as_a_full_clone(tmp_path: Path) -> None:
    from shipyard.versioning.release import Workflow
    from shipyard.versioning.tagging import tag_release

    need_binary("git")
    repo = make_repo(tmp_path)
    for number in range(1, 121):
        repo.commit(f"feat: {number}")
        if number % 10 == 0:
            repo.run("tag", "-a", "-m", "alpha", f"v0.1.0-alpha.{stamp(repo.clock)}")
    repo.push("develop", "--tags")
    Workflow(repo.path).release_start("0.2.0")
    repo.pull("release/v0.2.0")
    fixes = [repo.commit(f"fix: {number}") for number in range(1, 5)]
    repo.push("release/v0.2.0")
    # An earlier CI run tagged the branch up to the first fix (beta 1 on the start commit, beta 2 on it).
    tag_release(repo.path, fixes[0], "release/v0.2.0", remote="origin")
    url = repo.remote.as_uri()
    expected = compute_version(repo.path, "release/v0.2.0")

    # A single-branch CI checkout has neither develop nor main: they are fetched, as the betas need them.
    ci = _ci_clone(url, "release/v0.2.0", tmp_path / "ci")
    assert compute_version(ci.path, branch="release/v0.2.0") == expected
    # A tag left behind by a crashed run, on a commit the remote gave another version: the remote wins.
    ci.run("tag", "--force", "-a", "-m", "stale", "v0.2.0-beta.2", "HEAD")
    info, _ = tag_release(ci.path, remote="origin", branch="release/v0.2.0")

    assert info.version == expected.version == "v0.2.0-beta.5"
    assert [p.tag for p in info.pending] == ["v0.2.0-beta.3", "v0.2.0-beta.4", "v0.2.0-beta.5"]
    tags = repo.remote_tags()
    assert [tags[f"v0.2.0-beta.{n}"] for n in (2, 3, 4, 5)] == fixes
    # Run again: the version is already on the remote, nothing changes.
    again, plan = tag_release(ci.path, remote="origin", branch="release/v0.2.0")
    assert again.version == info.version and not plan.actions and repo.remote_tags() == tags


def test_a_breaking_change_is_found_in_a_shallow_clone_that_lacks_the_release(tmp_path: Path) -> None:
    need_binary("git")
    repo = make_repo(tmp_path)
    for number in range(1, 41):
        repo.commit(f"feat: {number}")
    repo.run("branch", "release/v0.1.0")  # the cut: the top release is 0.1.0
    repo.commit("feat!: drop the v1 API")
    for number in range(41, 121):
        repo.commit(f"feat: {number}")
        if number % 20 == 0 and number < 120:
            repo.run("tag", "-a", "-m", "alpha", f"v1.0.0-alpha.{stamp(repo.clock)}")
    repo.push("develop", "release/v0.1.0", "--tags")
    expected = compute_version(repo.path, bump="conventional")
    assert expected.version.startswith("v1.0.0-alpha."), "the breaking change makes the next version a major"

    # The CI checkout knows the release branch only from the remote's listing: it is fetched for the log.
    ci = _ci_clone(repo.remote.as_uri(), "develop", tmp_path / "ci")
    assert compute_version(ci.path, bump="conventional") == expected
