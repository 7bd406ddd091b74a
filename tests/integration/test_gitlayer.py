"""The git layer: trailers round-trip, and concurrent writers to one branch never lose an update."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from shipyard.errors import ShipyardError
from shipyard.git import Git, GitError, PushRejected, change_branch, format_message, parse_trailers
from shipyard.retry import Policy, Retrier
from tests.realparts import need_binary

pytestmark = pytest.mark.integration


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    need_binary("git")
    bare = tmp_path / "config.git"
    subprocess.run(["git", "init", "-q", "--bare", "--initial-branch=main", str(bare)], check=True)
    seed = tmp_path / "seed"
    subprocess.run(["git", "clone", "-q", str(bare), str(seed)], check=True, capture_output=True)
    (seed / "log.txt").write_text("")
    git = Git(seed)
    git.commit("Start")
    git.push("origin", ["HEAD:refs/heads/main"])
    return bare


def clone(remote: Path, where: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(remote), str(where)], check=True, capture_output=True)
    return where


def test_trailers_round_trip() -> None:
    trailers = [("Shipyard-Service", "user-service"), ("Shipyard-Version", "v1.2.0")]
    message = format_message("Promote user-service to uat\n\nBecause the beta passed.", trailers)
    assert parse_trailers(message) == trailers
    assert parse_trailers("Just a subject") == []
    with pytest.raises(ValueError, match="invalid trailer"):
        format_message("x", [("Shipyard-Service", "a\nb")])


def test_commit_records_trailers_and_is_idempotent(remote: Path, tmp_path: Path) -> None:
    checkout = clone(remote, tmp_path / "c")
    git = Git(checkout)
    (checkout / "a.txt").write_text("a")
    commit = git.commit("Add a", [("Shipyard-Stage", "dev")])
    assert commit is not None
    assert parse_trailers(git.run("log", "-1", "--format=%B")) == [("Shipyard-Stage", "dev")]
    assert git.commit("Nothing new") is None


def test_stale_push_is_reported_as_rejected(remote: Path, tmp_path: Path) -> None:
    first, second = clone(remote, tmp_path / "a"), clone(remote, tmp_path / "b")
    for checkout, name in ((first, "x"), (second, "y")):
        (checkout / f"{name}.txt").write_text(name)
        Git(checkout).commit(f"Add {name}")
    Git(first).push("origin", ["HEAD:refs/heads/main"])
    with pytest.raises(PushRejected):
        Git(second).push("origin", ["HEAD:refs/heads/main"])
    with pytest.raises(GitError) as info:
        Git(second).push(str(tmp_path / "missing.git"), ["HEAD:refs/heads/main"])
    assert not isinstance(info.value, PushRejected)


def test_concurrent_writers_lose_no_update(remote: Path, tmp_path: Path) -> None:
    writers = 10
    checkouts = [clone(remote, tmp_path / f"w{i}") for i in range(writers)]

    def write(index: int) -> str | None:
        def apply(root: Path) -> str:
            log = root / "log.txt"
            log.write_text(log.read_text() + f"writer {index}\n")
            return f"Writer {index} was here"

        return change_branch(checkouts[index], "origin", "main", apply, [("Shipyard-Stage", f"w{index}")])

    with ThreadPoolExecutor(max_workers=writers) as pool:
        commits = list(pool.map(write, range(writers)))
    assert all(commits)
    final = clone(remote, tmp_path / "final")
    lines = (final / "log.txt").read_text().splitlines()
    assert sorted(lines) == sorted(f"writer {i}" for i in range(writers))
    history = Git(final).run("log", "--format=%s", "main").splitlines()
    assert len(history) == writers + 1


def test_change_branch_with_nothing_to_do_makes_no_commit(remote: Path, tmp_path: Path) -> None:
    checkout = clone(remote, tmp_path / "c")
    before = Git(checkout).rev_parse("origin/main")
    assert change_branch(checkout, "origin", "main", lambda root: None) is None
    assert change_branch(checkout, "origin", "main", lambda root: "No real change") is None
    Git(checkout).run("fetch", "-q", "origin")
    assert Git(checkout).rev_parse("origin/main") == before


def test_change_branch_starts_the_branch_of_an_empty_repository(tmp_path: Path) -> None:
    need_binary("git")
    empty = tmp_path / "empty.git"
    subprocess.run(["git", "init", "-q", "--bare", "--initial-branch=main", str(empty)], check=True)
    first, second = clone(empty, tmp_path / "a"), clone(empty, tmp_path / "b")

    def add(name: str) -> Callable[[Path], str | None]:
        def apply(root: Path) -> str:
            (root / f"{name}.txt").write_text(name)
            return f"Add {name}"

        return apply

    assert change_branch(first, "origin", "main", add("first")) is not None
    # The second writer cloned the empty repository before the branch existed: it lands on top.
    assert change_branch(second, "origin", "main", add("second")) is not None
    final = clone(empty, tmp_path / "final")
    assert sorted(p.name for p in final.iterdir() if p.name != ".git") == ["first.txt", "second.txt"]
    assert Git(final).run("log", "--format=%s", "main").splitlines() == ["Add second", "Add first"]


def test_change_branch_stops_at_its_bound_when_another_writer_always_wins(remote: Path, tmp_path: Path) -> None:
    ours, theirs = clone(remote, tmp_path / "ours"), clone(remote, tmp_path / "theirs")
    sleeps: list[float] = []
    applied = 0

    def apply(root: Path) -> str:
        nonlocal applied
        applied += 1
        # Between our fetch and our push, the other writer lands a commit: a real lost race, every time.
        Git(theirs).run("pull", "--quiet", "--rebase", "origin", "main")
        (theirs / "log.txt").write_text(f"theirs {applied}\n")
        Git(theirs).commit(f"Theirs {applied}")
        Git(theirs).push("origin", ["HEAD:refs/heads/main"])
        (root / "mine.txt").write_text("mine\n")
        return "Mine"

    retry = Retrier(Policy(attempts=3, base=1.0, cap=2.0, max_wait=2.0, max_total=10.0), sleep=sleeps.append)
    with pytest.raises(ShipyardError, match="after 3 attempts: other writers kept winning"):
        change_branch(ours, "origin", "main", apply, retry=retry)
    assert applied == 3 and len(sleeps) == 2 and all(0 <= s <= 2.0 for s in sleeps)
    history = Git(clone(remote, tmp_path / "final")).run("log", "--format=%s", "main").splitlines()
    assert history[:3] == ["Theirs 3", "Theirs 2", "Theirs 1"], "the winners' commits all landed, ours none"
