"""20 CI runs tag 20 commits of one release branch at the same moment: betas 1..20, unique, in
first-parent order, and a re-run afterwards changes nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shipyard.versioning.release import Workflow
from tests.integration.versioning_support import make_repo
from tests.realparts import need_binary

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RUNS = 20


def test_twenty_concurrent_release_tag_pushes(tmp_path: Path) -> None:
    need_binary("git")
    repo = make_repo(tmp_path)
    Workflow(repo.path).release_start("1.4.0")
    repo.pull("release/v1.4.0")
    for number in range(1, RUNS):
        repo.commit(f"fix: number {number}")
    repo.push("release/v1.4.0")
    chain = repo.git.run("rev-list", "--first-parent", "--reverse", "HEAD", "--not", "origin/develop").split()
    assert len(chain) == RUNS

    # Each run is a CI checkout of its own commit of the branch.
    clones = []
    for index, commit in enumerate(chain):
        clone = tmp_path / f"ci-{index}"
        subprocess.run(["git", "clone", "--quiet", str(repo.remote), str(clone)], check=True)
        subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", "-B", "release/v1.4.0", commit], check=True)
        clones.append(clone)
    command = [sys.executable, "-m", "shipyard", "release", "tag", "--push", "origin"]
    runs = [subprocess.Popen(command, cwd=c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in clones]
    results = [
        (run.wait(timeout=300), run.stdout.read() if run.stdout else "", run.stderr.read() if run.stderr else "")
        for run in runs
    ]
    for code, out, err in results:
        assert code == 0, out + err

    tags = repo.remote_tags()
    betas = {name: commit for name, commit in tags.items() if name.startswith("v1.4.0-beta.")}
    assert sorted(betas) == sorted(f"v1.4.0-beta.{n}" for n in range(1, RUNS + 1))
    assert [betas[f"v1.4.0-beta.{n}"] for n in range(1, RUNS + 1)] == chain
    # Every run reports the version its own commit ended up with.
    for index, (_, out, _) in enumerate(results):
        assert out.strip().splitlines()[-1] == f"v1.4.0-beta.{index + 1}"

    rerun = subprocess.run(command, cwd=clones[7], capture_output=True, text=True, check=False)
    assert rerun.returncode == 0 and "nothing to change" in rerun.stdout
    assert repo.remote_tags() == tags
