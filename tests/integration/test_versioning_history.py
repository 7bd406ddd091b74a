"""Along any generated history (develop commits with skewed clocks, feature merges, release cycles with
fixes, hotfixes), the versions CI tags on each branch only grow, and a tagged commit keeps its version."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipyard.versioning.compute import compute_version
from shipyard.versioning.release import Workflow
from shipyard.versioning.semver import Version
from shipyard.versioning.tagging import tag_release
from tests.integration.versioning_support import Repo, make_repo
from tests.realparts import need_binary

pytestmark = [pytest.mark.integration, pytest.mark.slow]

OPS = ["develop", "feature", "release_start", "release_fix", "release_finish", "hotfix"]
steps = st.lists(st.tuples(st.sampled_from(OPS), st.integers(-7200, 600)), min_size=4, max_size=10)


class Cycle:
    """Plays workflow steps on a repository and records what CI tags on each branch."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self.flow = Workflow(repo.path)
        self.seen: dict[str, list[Version]] = {}
        self.tagged: dict[str, tuple[str, str]] = {}  # commit -> (branch, version)
        self.release: str | None = None
        self.features = 0

    def ci(self, branch: str) -> None:
        self.repo.pull(branch)
        info, _ = tag_release(self.repo.path, remote="origin")
        version = Version.parse(info.version)
        self.seen.setdefault(branch, []).append(version)
        self.tagged[info.commit] = (branch, info.version)

    def develop(self, skew: int) -> None:
        self.repo.pull("develop")
        self.repo.commit("feat: develop work", at=self.repo.tick() + _seconds(skew))
        self.repo.push("develop")
        self.ci("develop")

    def feature(self, skew: int) -> None:
        self.features += 1
        self.repo.switch(f"feature/utils-f{self.features}", "origin/develop")
        self.repo.commit("feat(utils): more", at=self.repo.tick() + _seconds(skew))
        self.repo.switch("develop", "origin/develop")
        self.repo.merge(f"feature/utils-f{self.features}", "Merge pull request", at=self.repo.tick() + _seconds(skew))
        self.repo.push("develop")
        self.ci("develop")

    def release_start(self, skew: int) -> None:
        if self.release:
            return self.release_fix(skew)
        base = compute_version(self.repo.path, "origin/develop", "develop").base
        self.flow.release_start(base)
        self.release = f"release/v{base}"
        self.ci(self.release)

    def release_fix(self, skew: int) -> None:
        if not self.release:
            return self.develop(skew)
        self.repo.pull(self.release)
        self.repo.commit("fix: release", at=self.repo.tick() + _seconds(skew))
        self.repo.push(self.release)
        self.ci(self.release)

    def release_finish(self, skew: int) -> None:
        if not self.release:
            return self.release_start(skew)
        self.repo.pull(self.release)
        if not self.repo.git.is_ancestor("origin/main", "HEAD"):
            self.repo.merge("origin/main", "Merge main into the release")
            self.repo.push(self.release)
            self.ci(self.release)
        self.flow.release_finish(self.release)
        self.release = None
        self.ci("main")
        self.ci("develop")

    def hotfix(self, skew: int) -> None:
        if not compute_version(self.repo.path, "origin/main", "main").existing:
            return self.develop(skew)  # nothing released yet
        self.flow.hotfix_start("fix")
        self.ci("hotfix/fix")
        self.repo.commit("fix: production", at=self.repo.tick() + _seconds(skew))
        self.repo.push("hotfix/fix")
        self.ci("hotfix/fix")
        self.flow.hotfix_finish("hotfix/fix")
        self.seen.pop("hotfix/fix")  # the next hotfix reuses the name on a new line
        self.ci("main")
        self.ci("develop")


def _seconds(value: int) -> timedelta:
    return timedelta(seconds=value)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_versions_on_a_branch_never_decrease(plan: list[tuple[str, int]]) -> None:
    need_binary("git")
    with tempfile.TemporaryDirectory() as tmp:
        cycle = Cycle(make_repo(Path(tmp)))
        for op, skew in plan:
            getattr(cycle, op)(skew)
        for branch, found in cycle.seen.items():
            assert all(a <= b for a, b in pairwise(found)), (branch, found)
        for commit, (branch, version) in cycle.tagged.items():
            assert compute_version(cycle.repo.path, commit, branch).version == version
