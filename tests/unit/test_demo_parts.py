"""The demo's stand-ins: GitHub's API as Shipyard's own client sees it, and the ``trivy`` command's contract."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.demo.parts import trivy
from shipyard.demo.parts.github import GitHubStandIn
from shipyard.github.client import GitHubClient, GitHubError
from shipyard.github.feedback import MARKER, apply_comment, plan_comment

REPO = "acme/monorepo"


@pytest.fixture
def github() -> Iterator[GitHubStandIn]:
    standin = GitHubStandIn("ghp_demo_token").start()
    yield standin
    standin.stop()


def test_pull_requests_are_numbered_per_repository_and_comments_kept_one(github: GitHubStandIn) -> None:
    client = GitHubClient(token=github.token, api_url=github.url)
    try:
        first = client.request("POST", f"/repos/{REPO}/pulls", {"title": "a", "head": "feature/x-a", "base": "develop"})
        second = client.request(
            "POST", f"/repos/{REPO}/pulls", {"title": "b", "head": "feature/x-b", "base": "develop"}
        )
        other = client.request("POST", "/repos/acme/other/pulls", {"title": "c", "head": "f", "base": "develop"})
        assert [first.data["number"], second.data["number"], other.data["number"]] == [1, 2, 1]
        for status in ("Pipeline: **Running**", "Pipeline: **Succeeded**"):
            plan = plan_comment(client, REPO, 2, {"status": status}, "shipyard pr comment")
            apply_comment(client, REPO, 2, plan)
        (body,) = github.comments_of(REPO, 2)
        assert MARKER in body and "Succeeded" in body and "Running" not in body
        github.merge(REPO, 2)
        assert client.request("GET", f"/repos/{REPO}/pulls/2").data["merged"] is True
    finally:
        client.close()


def test_a_wrong_token_is_refused(github: GitHubStandIn) -> None:
    client = GitHubClient(token="ghp_wrong", api_url=github.url)
    try:
        with pytest.raises(GitHubError):
            client.request("GET", f"/repos/{REPO}/pulls/1")
    finally:
        client.close()


def test_trivy_refuses_a_command_line_the_scan_step_never_writes(tmp_path: Path) -> None:
    assert trivy.main(["image", "--format", "json", str(tmp_path / "r.json"), "x"]) == 2
    assert trivy.main(["image", "--quiet", "--format", "json", "--output", "r.json", "host/repo:tag"]) == 2
    assert not (tmp_path / "r.json").exists()
