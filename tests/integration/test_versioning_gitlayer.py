"""The git layer every command changes repositories with: concurrent ``change_branch`` writers never lose an
update (fetch, re-apply, retry), commits carry their trailers, and pushes with leases refuse stale state."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from shipyard.errors import ShipyardError
from shipyard.git import Git, PushRejected, change_branch, parse_trailers
from shipyard.retry import Policy, Retrier
from shipyard.versioning import tagging
from shipyard.versioning.compute import VersionInfo, compute_version
from shipyard.versioning.refs import RefSnapshot
from shipyard.versioning.release import Workflow
from tests.integration.versioning_support import Repo, make_repo
from tests.realparts import need_binary

pytestmark = pytest.mark.integration

WRITERS = 8


def test_concurrent_writers_all_land(tmp_path: Path) -> None:
    need_binary("git")
    repo = make_repo(tmp_path)
    clones = []
    for index in range(WRITERS):
        clone = tmp_path / f"writer-{index}"
        subprocess.run(["git", "clone", "--quiet", str(repo.remote), str(clone)], check=True)
        clones.append(clone)

    def write(index: int) -> str | None:
        def apply(checkout: Path) -> str:
            # Re-derived from the newest tip on every attempt: append our line to whatever is there now.
            path = checkout / "promotions.txt"
            lines = path.read_text().splitlines() if path.exists() else []
            path.write_text("\n".join([*lines, f"writer {index}"]) + "\n")
            return f"Promote writer {index}"

        return change_branch(clones[index], "origin", "develop", apply, [("Shipyard-Stage", f"stage-{index}")])

    with ThreadPoolExecutor(WRITERS) as pool:
        commits = list(pool.map(write, range(WRITERS)))
    assert all(commits)

    repo.pull("develop")
    lines = (repo.path / "promotions.txt").read_text().splitlines()
    assert sorted(lines) == sorted(f"writer {i}" for i in range(WRITERS))
    messages = repo.git.run("log", "--format=%B%x00", "-n", str(WRITERS)).split("\x00")
    stages = sorted(value for m in messages for key, value in parse_trailers(m) if key == "Shipyard-Stage")
    assert stages == sorted(f"stage-{i}" for i in range(WRITERS))

    # Nothing to change: no commit, no push.
    assert change_branch(clones[0], "origin", "develop", lambda _: None) is None


def test_push_with_a_stale_lease_is_rejected(tmp_path: Path) -> None:
    need_binary("git")
    repo = make_repo(tmp_path)
    seen = repo.git.rev_parse("origin/develop")
    repo.commit("feat: someone else")
    repo.push("develop")
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "--quiet", str(repo.remote), str(other)], check=True)
    git = Git(other)
    mine = git.commit_tree(git.rev_parse(seen) + "^{tree}", [seen], "mine\n")
    with pytest.raises(PushRejected):
        git.push("origin", [f"{mine}:refs/heads/develop"], atomic=True, leases=[("refs/heads/develop", seen)])
    with pytest.raises(PushRejected):  # a lease of "" means: the ref must not exist yet
        git.push("origin", [f"{mine}:refs/heads/develop"], leases=[("refs/heads/develop", "")])
    assert repo.git.run("ls-remote", "origin", "refs/heads/develop").split()[0] == repo.git.rev_parse("HEAD")


def _racer(repo: Repo, tmp_path: Path) -> Git:
    path = tmp_path / "racer"
    subprocess.run(["git", "clone", "--quiet", str(repo.remote), str(path)], check=True)
    return Git(path)


def test_release_tag_stops_at_its_bound_when_other_runs_always_win(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need_binary("git")
    repo = make_repo(tmp_path)
    Workflow(repo.path).release_start("1.4.0")
    repo.pull("release/v1.4.0")
    racer = _racer(repo, tmp_path)
    computed = compute_version

    def racing_compute(*args: Any, **kwargs: Any) -> VersionInfo:
        info = computed(*args, **kwargs)
        # Another CI run pushes the very tags we are about to push, on its own commit: we lose the race.
        for pending in info.pending:
            theirs = racer.run("commit-tree", "HEAD^{tree}", "-p", "HEAD", "-m", f"their {pending.tag}").strip()
            racer.push("origin", [f"{theirs}:refs/tags/{pending.tag}"])
        return info

    monkeypatch.setattr(tagging, "compute_version", racing_compute)
    sleeps: list[float] = []
    lost: list[str] = []
    retry = Retrier(Policy(attempts=3, base=0.5, cap=1.0, max_wait=1.0, max_total=5.0), sleep=sleeps.append)
    with pytest.raises(ShipyardError, match="after 3 attempts: other runs kept winning"):
        tagging.tag_release(repo.path, remote="origin", retry=retry, progress=lost.append)
    assert len(lost) == 3 and len(sleeps) == 2
    head = repo.git.rev_parse("HEAD")
    assert head not in repo.remote_tags().values(), "none of our tags was pushed"
    assert head not in {commit for _, commit in repo.git.refs("refs/tags/")}, "our tags of lost races are dropped"


def test_a_workflow_step_stops_at_its_bound_when_develop_keeps_moving(tmp_path: Path) -> None:
    need_binary("git")
    repo = make_repo(tmp_path)
    Workflow(repo.path).release_start("1.4.0")
    racer = _racer(repo, tmp_path)
    sleeps: list[float] = []
    retry = Retrier(Policy(attempts=3, base=0.5, cap=1.0, max_wait=1.0, max_total=5.0), sleep=sleeps.append)
    workflow = Workflow(repo.path, retry=retry)
    fetch = workflow._fetch

    def racing_fetch() -> RefSnapshot:
        snapshot = fetch()
        # Right after our fetch, someone pushes to develop: the finish's lease on develop no longer holds.
        racer.run("pull", "--quiet", "origin", "develop")
        racer.run("commit", "--quiet", "--allow-empty", "-m", "feat: meanwhile")
        racer.push("origin", ["HEAD:refs/heads/develop"])
        return snapshot

    workflow._fetch = racing_fetch  # type: ignore[method-assign]
    with pytest.raises(ShipyardError, match=r"kept changing while the step ran \(3 attempts\)"):
        workflow.release_finish("release/v1.4.0")
    assert len(sleeps) == 2
    assert "v1.4.0" not in repo.remote_tags(), "nothing was half-pushed"
