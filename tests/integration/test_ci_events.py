"""Webhook bodies made from a repository on this machine (``shipyard.ci.events``) carry what GitHub's do: the
commits of a push with their files (only the new ones for a new branch), and a pull request's head and base
repositories, so the route table sends them where GitHub's would go."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from shipyard.ci.events import ZERO, Repository, local_repository, pull_request_event, push_event
from shipyard.git import Git
from shipyard.render.tekton.routes import plan_event

pytestmark = pytest.mark.integration


def _commit(git: Git, files: dict[str, str], message: str) -> str:
    for path, text in files.items():
        (git.path / path).parent.mkdir(parents=True, exist_ok=True)
        (git.path / path).write_text(text)
    git.run("add", "-A")
    git.run("commit", "-q", "-m", message)
    return git.run("rev-parse", "HEAD").strip()


def test_push_bodies_list_the_commits_and_their_files(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    git = Git(tmp_path / "repo")
    first = _commit(git, {"services/a/Dockerfile": "FROM x\n", "packages/p/package.json": "{}\n"}, "first")
    git.run("branch", "develop")
    repo = local_repository(tmp_path / "repo", "acme/monorepo")
    # A new branch that holds no commit of its own lists none (as GitHub does), so no package pipeline runs.
    created = push_event(git, repo, "refs/heads/develop", ZERO, "develop")
    assert created["commits"] == [] and created["created"] is True
    assert [name for name, _ in plan_event("push", created).pipelines] == ["alpha-build"]
    git.run("checkout", "-q", "develop")
    second = _commit(git, {"packages/p/index.js": "1\n"}, "a package change")
    (git.path / "services/a/Dockerfile").unlink()
    third = _commit(git, {}, "a service removed")
    pushed = push_event(git, repo, "refs/heads/develop", first, "develop")
    assert [(c["id"], c["added"], c["modified"], c["removed"]) for c in pushed["commits"]] == [
        (second, ["packages/p/index.js"], [], []),
        (third, [], [], ["services/a/Dockerfile"]),
    ]
    assert (pushed["before"], pushed["after"], pushed["head_commit"]["id"]) == (first, third, third)
    assert [name for name, _ in plan_event("push", pushed).pipelines] == ["alpha-build", "package-build"]


def test_pull_request_bodies_tell_a_branch_from_a_fork() -> None:
    repo = Repository("acme/monorepo", "https://github.com/acme/monorepo.git")
    own = pull_request_event(repo, "opened", 3, "c" * 40, "feature/a-b", "develop")
    fork = pull_request_event(
        repo, "synchronize", 4, "d" * 40, "feature/a-b", "develop", head_repository=Repository("x/monorepo", "u")
    )
    (planned,) = plan_event("pull_request", own).pipelines
    assert planned == (
        "pr-validation",
        {
            "git-url": repo.clone_url,
            "git-revision": "c" * 40,
            "pr-number": "3",
            "base-ref": "develop",
            "head-ref": "feature/a-b",
            "repo-full-name": "acme/monorepo",
        },
    )
    assert [name for name, _ in plan_event("pull_request", fork).pipelines] == ["pr-validation-fork"]
    closed = pull_request_event(repo, "closed", 3, "c" * 40, "feature/a-b", "develop", merged=True)
    assert [name for name, _ in plan_event("pull_request", closed).pipelines] == ["preview-teardown"]
