"""``preview up/down --comment`` and ``preview gc --github`` on a scaffolded workspace's real git config repo,
against a local stand-in for GitHub's REST API.

No GitHub is reachable from here. The stand-in (tests/standins/github.py) checks every request against
GitHub's own OpenAPI description from npm @octokit/openapi and answers per it; any contract violation
fails the test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shipyard.github.client import GitHubClient
from shipyard.github.feedback import MARKER, Feedback, apply_feedback, plan_feedback
from shipyard.previews.cleanup import preview_gc
from shipyard.previews.github import GitHubPrStates
from shipyard.previews.render import PreviewRequest
from shipyard.previews.repo import preview_up
from shipyard.retry import GITHUB
from shipyard.spec.loader import load_spec
from shipyard.spec.model import Platform
from tests.standins.github import TEST_TOKEN, GitHubStandIn

pytestmark = pytest.mark.integration

TOKEN = TEST_TOKEN
REPO = "acme/monorepo"
SHA1 = "0123456789abcdef0123456789abcdef01234567"
SHA2 = "fedcba9876543210fedcba9876543210fedcba98"
T0 = datetime(2024, 11, 14, 15, 30, 45, tzinfo=UTC)


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    return path


def shipyard(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "GH_TOKEN")}
    return subprocess.run(
        [sys.executable, "-m", "shipyard", *args], cwd=cwd, capture_output=True, text=True, check=False, env=env
    )


def ours(github: GitHubStandIn) -> list[str]:
    return [c["body"] for c in github.comments.values() if MARKER in c["body"]]


def test_up_comment_shares_the_one_comment_with_pr_comment(acme: Path, github: GitHubStandIn, token_file: Path) -> None:
    github.add_comment(REPO, 42, "Looks good to me", login="a-person")
    gh = ["--repo", REPO, "--token-file", str(token_file), "--api-url", github.url]
    up = ["preview", "up", "--pr", "42", "--services", "user-service,payment-service", "--comment", *gh]

    first = shipyard(acme, *up, "--sha", SHA1, "--json")
    assert first.returncode == 0, first.stderr
    assert TOKEN not in first.stdout + first.stderr
    assert [a["op"] for a in json.loads(first.stdout)["comment"]["actions"]] == ["create"]
    [body] = ours(github)
    assert "<!-- shipyard:section:preview -->" in body
    assert "- `user-service`: https://pr-42-user-service.preview.acme.example.com" in body
    assert "`pr-42-0123456`" in body

    # `pr comment` writes its sections into the same comment and keeps the preview's.
    client = GitHubClient(token=TOKEN, api_url=github.url, sleep=lambda _: None)
    feedback = Feedback(affected=["user-service"], pipeline_status="Succeeded")
    apply_feedback(client, REPO, 42, feedback, plan_feedback(client, REPO, 42, feedback))
    [body] = ours(github)
    assert "`pr-42-0123456`" in body and "**Affected services** (1): `user-service`" in body
    assert "No scan reports were produced." not in body  # affected given: no scan is not a missing scan

    # A new commit: the preview section is updated in place; what `pr comment` wrote stays.
    second = shipyard(acme, *up, "--sha", SHA2)
    assert second.returncode == 0, second.stderr
    assert "update  acme/monorepo#42 comment" in second.stdout
    [body] = ours(github)
    assert "`pr-42-fedcba9`" in body and "`pr-42-0123456`" not in body
    assert "Pipeline: **Succeeded**" in body and "**Affected services** (1)" in body
    assert len(github.comments) == 2 and any(c["body"] == "Looks good to me" for c in github.comments.values())

    # Nothing new: nothing written.
    patches = sum(r.method == "PATCH" for r in github.requests)
    assert shipyard(acme, *up, "--sha", SHA2).returncode == 0
    assert sum(r.method == "PATCH" for r in github.requests) == patches

    down = shipyard(acme, "preview", "down", "--pr", "42", "--comment", *gh, "--json")
    assert down.returncode == 0, down.stderr
    [body] = ours(github)
    assert "shipyard:section:preview" not in body and "pr-42-user-service" not in body
    assert "Pipeline: **Succeeded**" in body


def test_up_comment_checks_its_github_options_before_pushing(acme: Path) -> None:
    no_repo = shipyard(acme, "preview", "up", "--pr", "5", "--sha", SHA1, "--comment")
    assert no_repo.returncode == 2 and "--comment needs --repo" in no_repo.stderr
    stray = shipyard(acme, "preview", "up", "--pr", "5", "--sha", SHA1, "--repo", REPO)
    assert stray.returncode == 2 and "need --comment" in stray.stderr
    listing = shipyard(acme, "preview", "list", "--json")
    assert json.loads(listing.stdout)["previews"] == []  # refused before anything was pushed


def test_a_github_failure_after_the_push_is_reported_with_the_preview(
    acme: Path, github: GitHubStandIn, tmp_path: Path, token_file: Path
) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("ghp_NOT_THE_TOKEN")
    gh = ["--comment", "--repo", REPO, "--api-url", github.url]
    up = shipyard(acme, "preview", "up", "--pr", "8", "--sha", SHA1, *gh, "--token-file", str(wrong), "--json")
    assert up.returncode == 2 and "401" in up.stderr and "Traceback" not in up.stderr
    data = json.loads(up.stdout)
    assert data["commit"] and data["comment"] is None and "401" in data["commentError"]
    assert _left(acme) == ["pr-8"]  # the preview itself was pushed
    github.requests.clear()  # the wrong token was the point

    # Closing a preview whose PR has no Shipyard comment writes no comment.
    down = shipyard(acme, "preview", "down", "--pr", "8", *gh, "--token-file", str(token_file))
    assert down.returncode == 0, down.stderr
    assert "no Shipyard comment, and nothing to write in one" in down.stdout
    assert {r.method for r in github.requests} == {"GET"} and github.comments == {}


def _open_previews(acme: Path, numbers: list[int]) -> tuple[Platform, str]:
    platform = load_spec(acme / "shipyard.yaml")
    remote = str(acme / ".shipyard" / "gitops-config.git")
    for number in numbers:
        preview_up(remote, platform, PreviewRequest(number, SHA1, ("user-service",)), T0, dry_run=False)
    return platform, remote


def _left(acme: Path) -> list[str]:
    proc = shipyard(acme, "preview", "list", "--json", "--now", "2024-11-14T16:00:00Z")
    return [p["name"] for p in json.loads(proc.stdout)["previews"]]


def test_gc_github_removes_closed_and_merged_only(acme: Path, github: GitHubStandIn, token_file: Path) -> None:
    _open_previews(acme, [1, 2, 3, 4])
    github.add_pull(REPO, 1, "closed")
    github.add_pull(REPO, 2, "closed", merged=True)
    github.add_pull(REPO, 3, "open")  # PR 4 is unknown to GitHub: 404
    gh = ["--github", "--repo", REPO, "--token-file", str(token_file), "--api-url", github.url]
    proc = shipyard(acme, "preview", "gc", *gh, "--now", "2024-11-14T16:00:00Z", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [(d["name"], d["reason"]) for d in data["delete"]] == [("pr-1", "closed"), ("pr-2", "closed")]
    assert data["kept"] == ["pr-3", "pr-4"]
    assert data["prState"]["source"] == f"GitHub {REPO}"
    assert [p.split(":")[0] for p in data["prState"]["problems"]] == ["PR 4"]
    assert "404" in data["prState"]["problems"][0]
    assert _left(acme) == ["pr-3", "pr-4"]
    asked = sorted(r.path for r in github.requests)
    assert asked == [f"/repos/{REPO}/pulls/{n}" for n in (1, 2, 3, 4)]

    text = shipyard(acme, "preview", "gc", *gh, "--now", "2024-11-14T16:00:00Z")
    assert "PR 4" in text.stdout and "never as closed" in text.stdout


def test_gc_github_asks_only_about_previews_the_ttl_keeps(acme: Path, github: GitHubStandIn) -> None:
    platform, remote = _open_previews(acme, [7])
    client = GitHubClient(token=TOKEN, api_url=github.url, sleep=lambda _: None)
    later = datetime(2024, 12, 1, tzinfo=UTC)
    report, commit = preview_gc(
        remote, platform, later, max_deletions=10, pr_states=GitHubPrStates(client, REPO), dry_run=False
    )
    assert [d.name for d in report.delete] == ["pr-7"] and commit
    assert github.requests == []


@pytest.mark.parametrize(
    ("status", "headers", "message", "attempts", "retried"),
    [
        (500, {}, "Server Error", 1, ""),  # a server's bug: not retried
        (503, {}, "Service Unavailable", 3, "; failed after 3 attempts (HTTP 503)"),
        (
            403,
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "0"},
            "API rate limit exceeded",
            3,
            "; failed after 3 attempts (rate limited (HTTP 403))",
        ),
    ],
)
def test_gc_github_an_api_failure_never_deletes(
    acme: Path, github: GitHubStandIn, status: int, headers: dict[str, str], message: str, attempts: int, retried: str
) -> None:
    platform, remote = _open_previews(acme, [1, 2])
    github.add_pull(REPO, 1, "closed")
    github.add_pull(REPO, 2, "closed")
    for _ in range(attempts):  # every attempt the client makes for PR 1
        github.refuse_next(status, headers, {"message": message})
    client = GitHubClient(
        token=TOKEN, api_url=github.url, retry=replace(GITHUB, attempts=3), sleep=lambda _: None, clock=lambda: 0.0
    )
    now = datetime(2024, 11, 14, 16, tzinfo=UTC)
    events: list[tuple[str, int, int | None]] = []
    lookup = GitHubPrStates(client, REPO, progress=lambda *e: events.append(e))
    report, commit = preview_gc(remote, platform, now, max_deletions=10, pr_states=lookup, dry_run=False)
    assert events == [("ask GitHub", 0, 2), ("ask GitHub", 1, 2), ("ask GitHub", 2, 2)]
    assert report.delete == [] and commit is None
    assert sorted(report.kept) == ["pr-1", "pr-2"]
    assert report.pr_states is not None
    assert report.pr_states.problems == (
        f"PR 1: GET /repos/{REPO}/pulls/1: GitHub answered {status} ({message}){retried}",
        "PR 2: not asked (GitHub failed on PR 1)",
    )
    assert len(github.requests) == attempts  # PR 2 was never asked: GitHub was failing
    assert _left(acme) == ["pr-1", "pr-2"]


def test_gc_github_bad_options(acme: Path, tmp_path: Path) -> None:
    states = tmp_path / "states.json"
    states.write_text("{}")
    both = shipyard(acme, "preview", "gc", "--github", "--repo", REPO, "--pr-state", str(states))
    assert both.returncode == 2 and "one PR state source" in both.stderr
    no_repo = shipyard(acme, "preview", "gc", "--github")
    assert no_repo.returncode == 2 and "--github needs --repo" in no_repo.stderr
    cluster = shipyard(acme, "preview", "gc", "--github", "--cluster")
    assert cluster.returncode == 2 and "not to --cluster" in cluster.stderr
