"""Values from outside never reach git as options, and a push that is refused says why at once (real git)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipyard.errors import ShipyardError
from shipyard.git import Git, GitError, change_branch, temporary_clone
from shipyard.git.refname import UnsafeValue, check_revision, check_value
from shipyard.git.repo import lost_race

pytestmark = pytest.mark.integration


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with one commit on develop and a bare remote called origin."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", str(remote))
    work = tmp_path / "work"
    git(tmp_path, "init", "--quiet", "--initial-branch=develop", str(work))
    git(work, "commit", "--quiet", "--allow-empty", "-m", "start")
    git(work, "remote", "add", "origin", str(remote))
    git(work, "push", "--quiet", "origin", "develop")
    return work


def shipyard(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shipyard", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=120
    )


INJECTIONS = [
    "--upload-pack=touch {marker}",
    "--receive-pack=touch {marker}",
    "-oProxyCommand=touch {marker}",
    "--exec=touch {marker}",
]


@pytest.mark.parametrize("injection", INJECTIONS)
def test_release_tag_push_never_runs_an_option_as_a_command(repo: Path, tmp_path: Path, injection: str) -> None:
    marker = tmp_path / "PWNED"
    proc = shipyard(repo, "release", "tag", "--push", injection.format(marker=marker))
    assert proc.returncode == 2, proc.stderr
    assert not marker.exists()
    assert "--push" in proc.stderr and "starts with '-'" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["release", "start", "1.0.0", "--remote"], "--remote"),
        (["release", "finish", "--remote"], "--remote"),
        (["hotfix", "start", "fix-x", "--remote"], "--remote"),
        (["version", "--remote"], "--remote"),
        (["version", "--ref"], "--ref"),
        (["version", "--branch"], "--branch"),
    ],
)
def test_every_remote_and_revision_flag_is_checked(repo: Path, tmp_path: Path, args: list[str], flag: str) -> None:
    marker = tmp_path / "PWNED"
    proc = shipyard(repo, *args, f"--upload-pack=touch {marker}")
    assert proc.returncode == 2, proc.stderr
    assert not marker.exists() and flag in proc.stderr and "Traceback" not in proc.stderr


def test_a_range_is_not_blamed_on_a_branch_name(repo: Path) -> None:
    proc = shipyard(repo, "version", "--ref", "HEAD..HEAD")
    assert proc.returncode == 2
    assert "--ref 'HEAD..HEAD' is a range of commits; give one commit" in proc.stderr
    assert "branch name" not in proc.stderr


def test_a_config_repo_that_looks_like_an_option_is_never_cloned(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    with pytest.raises(UnsafeValue, match="starts with '-'"), temporary_clone(f"--upload-pack=touch {marker}"):
        pass
    assert not marker.exists()


def test_the_git_layer_checks_the_values_of_its_own_methods(repo: Path) -> None:
    g = Git(repo)
    for call in (
        lambda: g.push("--mirror", ["HEAD"]),
        lambda: g.push("origin", ["--delete"]),
        lambda: g.remote_has_branch("--upload-pack=x", "main"),
        lambda: g.remote_refs("--upload-pack=x"),
        lambda: g.rev_parse("--all"),
        lambda: g.has_ref("--all"),
        lambda: g.is_ancestor("--all", "HEAD"),
        lambda: g.tag("-d", "HEAD", "m"),
        lambda: list(g.first_parents("--all")),
    ):
        with pytest.raises(UnsafeValue):
            call()


def test_a_read_only_remote_says_so_at_once_with_gits_message(tmp_path: Path) -> None:
    remote = tmp_path / "config.git"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(remote))
    hook = remote / "hooks" / "pre-receive"
    count = tmp_path / "pushes"
    hook.write_text(f"#!/bin/sh\necho x >> {count}\necho 'this repository is read-only' >&2\nexit 1\n")
    hook.chmod(0o755)
    checkout = tmp_path / "checkout"
    git(tmp_path, "clone", "--quiet", str(remote), str(checkout))

    def apply(work: Path) -> str:
        (work / "file").write_text("x\n")
        return "Add a file"

    with pytest.raises(GitError) as info:
        change_branch(checkout, "origin", "main", apply)
    assert "this repository is read-only" in str(info.value)
    assert "other writers kept winning" not in str(info.value)
    assert count.read_text().count("x") == 1, "a refusal that is not a lost race is not retried"


RACES = [
    ("!\tHEAD:refs/heads/main\t[rejected] (non-fast-forward)\nDone", True, ""),
    ("!\tHEAD:refs/heads/main\t[rejected] (fetch first)", True, ""),
    ("!\tHEAD:refs/heads/main\t[rejected] (stale info)", True, ""),
    ("!\trefs/tags/v1:refs/tags/v1\t[rejected] (already exists)\n!\ta:b\t[rejected] (atomic push failed)", True, ""),
    ("!\tHEAD:refs/heads/main\t[remote rejected] (failed to update ref)", True, "cannot lock ref 'x': is at 1"),
    ("!\trefs/tags/v1:refs/tags/v1\t[remote rejected] (atomic transaction failed)", True, "cannot lock ref 'x'"),
    ("!\tHEAD:refs/heads/main\t[remote rejected] (failed to update ref)", False, "No space left on device"),
    ("!\tHEAD:refs/heads/main\t[remote rejected] (pre-receive hook declined)", False, "read-only"),
    ("!\tHEAD:refs/heads/main\t[remote rejected] (permission denied)", False, ""),
    ("!\ta:b\t[rejected] (atomic push failed)", False, ""),
    ("", False, ""),
]


@pytest.mark.parametrize(("porcelain", "raced", "stderr"), RACES)
def test_only_a_ref_another_writer_moved_is_a_lost_race(porcelain: str, raced: bool, stderr: str) -> None:
    assert lost_race(porcelain, stderr) is raced


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=30))
def test_no_value_that_git_could_read_as_an_option_passes(value: str) -> None:
    try:
        check_value(value, "the value")
    except ShipyardError:
        assert value.startswith("-") or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value)
    else:
        assert not value.startswith("-")
    try:
        check_revision(value)
    except ShipyardError:
        return
    assert ".." not in value and not value.startswith("-") and not any(c.isspace() for c in value)


def test_a_token_in_a_remote_url_never_reaches_an_error_message(acme: Path) -> None:
    # git fails to reach the remote and its message, and the command line Shipyard reports, carry the URL.
    for url in (
        "https://x-access-token:ghs_s3cret0123@127.0.0.1:9/acme/config.git",
        "https://ghp_s3cret0123@127.0.0.1:9/c",
    ):
        proc = shipyard(acme, "preview", "list", "--config-repo", url)
        assert proc.returncode == 2, proc.stderr
        assert "s3cret0123" not in proc.stderr + proc.stdout and "***@127.0.0.1:9" in proc.stderr, proc.stderr


def test_affected_takes_one_commit_per_end_of_its_range(acme: Path) -> None:
    for value in ("HEAD..HEAD", "HEAD\nx"):
        proc = shipyard(acme, "affected", f"--base={value}")
        assert proc.returncode == 2 and "--base" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
