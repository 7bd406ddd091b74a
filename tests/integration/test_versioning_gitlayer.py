"""The git layer every command changes repositories with: concurrent ``change_branch`` writers never lose an
update (fetch, re-apply, retry), commits carry their trailers, and pushes with leases refuse stale state."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from shipyard.git import Git, PushRejected, change_branch, parse_trailers
from tests.integration.versioning_support import make_repo
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
