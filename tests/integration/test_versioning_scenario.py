"""The seed's whole cycle on real git repositories with a bare remote, checking every version and alias:
feature PR, develop merges, a release branch with fixes, merge to main, a hotfix, the next cycle, an
older-line hotfix, and the workflow's refusals."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from shipyard.errors import ShipyardError
from shipyard.versioning.compute import VersionInfo, compute_version
from shipyard.versioning.release import MergeConflict, UnsafeState, Workflow
from shipyard.versioning.tagging import tag_release
from tests.integration.versioning_support import Repo, make_repo, stamp
from tests.realparts import need_binary

pytestmark = pytest.mark.integration


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    need_binary("git")
    return make_repo(tmp_path)


def ci_tag(repo: Repo, branch: str | None = None) -> VersionInfo:
    """What CI does after every push: tag the commit and push the tag."""
    info, _ = tag_release(repo.path, "HEAD", branch, remote="origin")
    return info


def shipyard(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shipyard", *args], cwd=repo.path, capture_output=True, text=True, check=False
    )


def test_whole_cycle(repo: Repo) -> None:
    flow = Workflow(repo.path)

    # A feature branch opens a pull request: a build tag, no version.
    repo.switch("feature/user-service-oauth2", "develop")
    feature = repo.commit("feat(user-service): oauth2")
    pr = compute_version(repo.path, pr=12)
    assert (pr.version, pr.maturity, pr.tags, pr.base) == (
        f"pr-12-{feature[:7]}",
        "pr",
        [f"pr-12-{feature[:7]}"],
        "0.1.0",
    )
    assert pr.npm.dist_tag == "pr-12"
    with pytest.raises(ShipyardError, match="pull request"):
        compute_version(repo.path)

    # Merged into develop: an alpha from the merge's committer time, with the alpha aliases.
    repo.switch("develop")
    merged_at = repo.tick()
    repo.merge("feature/user-service-oauth2", "Merge pull request #12", at=merged_at)
    repo.push("develop")
    first = ci_tag(repo)
    assert first.version == f"v0.1.0-alpha.{stamp(merged_at)}"
    assert first.tags == [first.version, "alpha", "latest-alpha"]
    assert (first.npm.version, first.npm.dist_tag) == (first.version[1:], "alpha")

    # A develop commit whose clock is behind: raised to one second after the alpha before it.
    skewed = merged_at - timedelta(hours=1)
    repo.commit("feat: skewed clock", at=skewed)
    repo.push("develop")
    second = ci_tag(repo)
    assert second.version == f"v0.1.0-alpha.{stamp(merged_at + timedelta(seconds=1))}"
    assert "raised" in second.reason

    # Cut release/v0.1.0: betas on the branch, and develop moves to the next minor at once.
    flow.release_start("0.1.0")
    repo.pull("release/v0.1.0")
    assert ci_tag(repo).version == "v0.1.0-beta.1"
    repo.switch("develop")
    repo.commit("feat: next thing")
    repo.push("develop")
    next_alpha = ci_tag(repo)
    assert next_alpha.version.startswith("v0.2.0-alpha.")
    assert next_alpha.tags[1:] == ["alpha", "latest-alpha"]

    # Fixes on the release branch: beta 2 and 3 (two pushed at once: both tagged, in first-parent order).
    repo.switch("release/v0.1.0")
    fix1 = repo.commit("fix: one")
    fix2 = repo.commit("fix: two")
    repo.push("release/v0.1.0")
    third = ci_tag(repo)
    assert third.version == "v0.1.0-beta.3"
    assert [(p.tag, p.commit) for p in third.pending] == [("v0.1.0-beta.2", fix1), ("v0.1.0-beta.3", fix2)]
    assert third.tags == ["v0.1.0-beta.3", "beta", "latest-beta"] and third.npm.dist_tag == "beta"
    # A re-run changes nothing.
    again, plan = tag_release(repo.path, remote="origin")
    assert again.existing and plan.empty

    # Finish: merged into main with --no-ff, stable tagged, main merged back into develop.
    plan = flow.release_finish().plan
    assert [a.op.value for a in plan.actions] == ["update", "tag", "update", "delete"]
    assert flow.release_finish().plan.empty
    repo.pull("main")
    stable = compute_version(repo.path)
    assert (stable.version, stable.existing) == ("v0.1.0", True)
    assert stable.tags == ["v0.1.0", "stable", "latest", "v0", "v0.1"]
    assert (stable.npm.version, stable.npm.dist_tag) == ("0.1.0", "latest")
    assert len(repo.git.parents("HEAD")) == 2
    repo.pull("develop")
    assert ci_tag(repo).version.startswith("v0.2.0-alpha.")

    # A hotfix from main: patch betas, then v0.1.1 on main and back in develop.
    flow.hotfix_start("security-cve-2024-1234")
    repo.pull("hotfix/security-cve-2024-1234")
    assert ci_tag(repo).version == "v0.1.1-beta.1"
    repo.commit("fix: the cve")
    repo.push("hotfix/security-cve-2024-1234")
    hot_beta = ci_tag(repo)
    assert hot_beta.version == "v0.1.1-beta.2"
    assert hot_beta.tags == ["v0.1.1-beta.2", "beta", "latest-beta"]
    with pytest.raises(UnsafeState, match=r"open on the 0\.1 line"):
        flow.hotfix_start("another")
    flow.hotfix_finish()
    repo.pull("main")
    assert compute_version(repo.path).version == "v0.1.1"
    repo.pull("develop")
    assert repo.git.is_ancestor("v0.1.1", "HEAD")
    assert ci_tag(repo).version.startswith("v0.2.0-alpha.")

    # The next cycle: release 0.2.0 (a version behind the last release is refused).
    with pytest.raises(UnsafeState, match="not ahead"):
        flow.release_start("0.1.0")
    flow.release_start("0.2.0")
    repo.pull("release/v0.2.0")
    assert ci_tag(repo).version == "v0.2.0-beta.1"
    # A hotfix on main while the release is open: finishing the release now would lose it.
    flow.hotfix_start("payment-timeout")
    repo.pull("hotfix/payment-timeout")
    repo.commit("fix: timeout")
    repo.push("hotfix/payment-timeout")
    assert ci_tag(repo).version == "v0.1.2-beta.2"
    finish = flow.hotfix_finish()
    assert any("release/v0.2.0 is open" in note for note in finish.plan.notes)
    with pytest.raises(UnsafeState, match="lacks"):
        flow.release_finish("release/v0.2.0")
    repo.pull("release/v0.2.0")
    repo.merge("origin/main", "Merge main into release/v0.2.0")
    repo.push("release/v0.2.0")
    assert ci_tag(repo).version == "v0.2.0-beta.2"
    flow.release_finish("release/v0.2.0")
    repo.pull("main")
    latest = compute_version(repo.path)
    assert latest.version == "v0.2.0" and latest.tags == ["v0.2.0", "stable", "latest", "v0", "v0.2"]
    repo.pull("develop")
    assert ci_tag(repo).version.startswith("v0.3.0-alpha.")

    # An older-line hotfix (0.1.x after 0.2.0): betas on its line, and its stable moves v0.1 only.
    flow.hotfix_start("old-customer", "v0.1.2")
    repo.pull("hotfix/old-customer")
    repo.commit("fix: for 0.1 users")
    repo.push("hotfix/old-customer")
    old_beta = ci_tag(repo)
    assert old_beta.version == "v0.1.3-beta.2" and old_beta.tags == ["v0.1.3-beta.2"]
    assert old_beta.npm.dist_tag == "beta-0.1"
    tip = repo.git.rev_parse("HEAD")
    flow.hotfix_finish()
    old = compute_version(repo.path, "v0.1.3")
    assert old.commit == tip and old.tags == ["v0.1.3", "v0.1"]
    assert (old.npm.version, old.npm.dist_tag) == ("0.1.3", "latest-0.1")
    assert not repo.git.is_ancestor("v0.1.3", "origin/main")

    # Every version tag is on the remote, each commit has at most one version per maturity.
    tags = repo.remote_tags()
    assert {"v0.1.0", "v0.1.1", "v0.1.2", "v0.2.0", "v0.1.3"} <= set(tags)
    seen: set[tuple[str, str]] = set()
    for name, commit in tags.items():
        maturity = "stable" if "-" not in name else name.split("-")[1].split(".")[0]
        assert (commit, maturity) not in seen
        seen.add((commit, maturity))


def test_cli_json_shapes_and_refusals(repo: Repo) -> None:
    repo.commit("feat: one")
    repo.push("develop")
    out = shipyard(repo, "version", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert {"version", "maturity", "base", "tags", "npm", "reason"} <= set(data)
    assert set(data["npm"]) == {"version", "distTag"}
    dry = shipyard(repo, "release", "tag", "--push", "origin", "--dry-run")
    assert dry.returncode == 0 and "tag" in dry.stdout
    assert not repo.remote_tags()
    assert shipyard(repo, "release", "tag", "--push", "origin").returncode == 0
    assert list(repo.remote_tags()) == [data["version"]]
    start = shipyard(repo, "release", "start", "0.1.0", "--dry-run", "--json")
    assert json.loads(start.stdout)["actions"][0]["target"] == "branch release/v0.1.0"
    assert not repo.git.has_ref("refs/remotes/origin/release/v0.1.0")
    bad = shipyard(repo, "release", "start", "1.2")
    assert bad.returncode == 2 and "not a release version" in bad.stderr and "Traceback" not in bad.stderr
    repo.run("checkout", "--quiet", "--detach")
    detached = shipyard(repo, "version")
    assert detached.returncode == 0 and detached.stdout.startswith(data["version"])
    repo.commit("feat: detached")
    lost = shipyard(repo, "version")
    assert lost.returncode == 2 and "--branch" in lost.stderr
    assert shipyard(repo, "version", "--branch", "develop").stdout.startswith("v0.1.0-alpha.")
    no_remote = shipyard(repo, "hotfix", "finish", "--remote", "upstream")
    assert no_remote.returncode == 2 and "not a remote" in no_remote.stderr


def test_main_merged_by_pull_request_takes_the_release_stable(repo: Repo) -> None:
    # A release merged to main through the forge's pull request (not `release finish`): CI tags the stable.
    flow = Workflow(repo.path)
    flow.release_start("1.0.0")
    repo.pull("release/v1.0.0")
    assert ci_tag(repo).version == "v1.0.0-beta.1"
    repo.pull("main")
    repo.merge("origin/release/v1.0.0", "Merge pull request #3 from acme/release/v1.0.0")
    repo.push("main")
    assert ci_tag(repo).version == "v1.0.0"
    # A hotfix merged by pull request: a patch bump of the latest stable.
    repo.switch("hotfix/quick", "main")
    repo.commit("fix: quick")
    repo.switch("main")
    repo.merge("hotfix/quick", "Merge pull request #4")
    assert compute_version(repo.path).version == "v1.0.1"
    ci_tag(repo)
    # A release squashed into main names its branch in the subject.
    repo.commit("Release release/v1.1.0 (#5)")
    assert compute_version(repo.path).version == "v1.1.0"
    repo.commit("chore: a direct commit")
    assert compute_version(repo.path).version == "v1.0.2"


def test_conventional_bump_makes_a_major_and_keeps_it(repo: Repo) -> None:
    repo.switch("main")
    repo.commit("fix: first")
    repo.run("tag", "-a", "-m", "v1.2.0", "v1.2.0")
    repo.switch("develop")
    repo.merge("main", "Merge main")
    assert compute_version(repo.path, bump="conventional").version.startswith("v1.3.0-alpha.")
    repo.commit("feat!: drop the v1 API")
    ci = tag_release(repo.path, bump="conventional")[0]
    assert ci.version.startswith("v2.0.0-alpha.") and "breaking" in ci.reason
    repo.commit("docs: later")
    assert compute_version(repo.path, bump="conventional").version.startswith("v2.0.0-alpha.")
    # Under the default policy develop still moves up (never back) from the alpha before it.
    assert compute_version(repo.path).version.startswith("v2.0.0-alpha.")
    # Once 2.0.0 is cut, develop goes to 2.1.0 unless a new breaking change comes.
    repo.run("branch", "release/v2.0.0", "HEAD~1")
    repo.commit("feat: small")
    assert compute_version(repo.path, bump="conventional").version.startswith("v2.1.0-alpha.")
    repo.commit("refactor(api)!: again")
    assert compute_version(repo.path, bump="conventional").version.startswith("v3.0.0-alpha.")


def test_an_alpha_taken_by_another_commit_moves_to_the_next_second(repo: Repo) -> None:
    at = repo.tick()
    repo.switch("feature/utils-a", "develop")
    repo.commit("feat: a", at=at)
    repo.run("tag", "-a", "-m", "x", f"v0.1.0-alpha.{stamp(at)}")
    repo.switch("develop")
    repo.commit("feat: b", at=at)
    assert compute_version(repo.path).version == f"v0.1.0-alpha.{stamp(at + timedelta(seconds=1))}"


def test_finish_stops_on_a_back_merge_conflict_and_resumes(repo: Repo) -> None:
    flow = Workflow(repo.path)
    (repo.path / "app.txt").write_text("base\n")
    repo.run("add", "app.txt")
    repo.commit("feat: app")
    repo.push("develop")
    flow.release_start("1.0.0")
    repo.pull("release/v1.0.0")
    (repo.path / "app.txt").write_text("release fix\n")
    repo.run("commit", "--quiet", "-am", "fix: on the release")
    repo.push("release/v1.0.0")
    repo.pull("develop")
    (repo.path / "app.txt").write_text("develop change\n")
    repo.run("commit", "--quiet", "-am", "feat: on develop")
    repo.push("develop")
    before = repo.git.run("ls-remote", "origin")

    dry = flow.release_finish("release/v1.0.0", dry_run=True)
    assert any("conflict in app.txt" in note for note in dry.plan.notes)
    assert repo.git.run("ls-remote", "origin") == before

    with pytest.raises(MergeConflict, match=r"app\.txt") as stopped:
        flow.release_finish("release/v1.0.0")
    assert "git merge origin/main" in str(stopped.value) and stopped.value.exit_code == 1
    assert "v1.0.0" in repo.remote_tags()  # the release is out; only the back-merge waits for a person
    assert repo.git.has_ref("refs/remotes/origin/release/v1.0.0")

    # The person resolves it as told; running finish again completes the job.
    repo.pull("develop")
    merged = repo.git.execute("merge", "--quiet", "origin/main")
    assert merged.returncode != 0
    (repo.path / "app.txt").write_text("both\n")
    repo.run("commit", "--quiet", "-am", "Merge main into develop")
    repo.push("develop")
    done = flow.release_finish("release/v1.0.0")
    assert [a.target for a in done.plan.actions] == ["branch release/v1.0.0"]
    assert flow.release_finish("release/v1.0.0").plan.empty


def test_workflow_refusals_and_reruns(repo: Repo) -> None:
    flow = Workflow(repo.path)
    with pytest.raises(UnsafeState, match="no stable release"):
        flow.hotfix_start("too-early")
    flow.release_start("1.0.0")
    assert flow.release_start("1.0.0").plan.empty  # already cut: nothing to do
    with pytest.raises(UnsafeState, match="still open"):
        flow.release_start("1.1.0")
    flow.release_finish("release/v1.0.0")
    with pytest.raises(ShipyardError, match="not a stable release tag"):
        flow.hotfix_start("fix", "v1.0.0-beta.1")
    with pytest.raises(ShipyardError, match="not a hotfix branch"):
        flow.hotfix_start("Bad_Name")
    dry = flow.hotfix_start("fix", dry_run=True)
    assert [a.target for a in dry.plan.actions] == ["branch hotfix/fix"]
    assert not repo.git.has_ref("refs/remotes/origin/hotfix/fix")
    flow.hotfix_start("fix")
    assert flow.hotfix_start("fix").plan.empty
    with pytest.raises(ShipyardError, match="not a release branch"):
        flow.release_finish("hotfix/fix")
    repo.pull("hotfix/fix")
    repo.commit("fix: not pushed yet")
    with pytest.raises(UnsafeState, match="origin does not"):
        flow.hotfix_finish()


def test_develop_commits_ci_skipped_take_their_alphas_in_order(repo: Repo) -> None:
    repo.commit("feat: one")
    ci_tag(repo)
    late = repo.tick()
    first = repo.commit("feat: two", at=late + timedelta(hours=2))  # its clock runs ahead
    second = repo.commit("feat: three", at=late)
    repo.push("develop")
    info = ci_tag(repo)  # CI only ran for the tip
    assert [p.commit for p in info.pending] == [first, second]
    ahead = stamp(late + timedelta(hours=2))
    assert [p.tag for p in info.pending] == [f"v0.1.0-alpha.{ahead}", f"v0.1.0-alpha.{int(ahead) + 1}"]
    assert compute_version(repo.path, first, "develop").existing
