"""Harbor's ``SCANNING_COMPLETED`` webhook, through ``shipyard serve``, to the pull request's one Shipyard comment.

No Harbor and no GitHub run here: Harbor is the stand-in of tests/standins/harbor.py (every request checked
against Harbor's own API description) holding reports made from real Trivy reports, and GitHub is the
stand-in of tests/standins/github.py (checked against GitHub's OpenAPI description). serve itself is the
real process on a loopback port.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shipyard.serve.harbor_scan import FAILED_MARK, HARBOR_REVIEW_MARKER, PR_ANNOTATION, REVISION
from tests.integration import test_harbor_apply
from tests.integration.test_promotion_vulngate import from_trivy
from tests.serveparts import ServeProcess, start_serve
from tests.standins.github import TEST_TOKEN, GitHubStandIn
from tests.standins.harbor import HarborStandin

pytestmark = pytest.mark.integration

swagger = test_harbor_apply.swagger
harbor = test_harbor_apply.harbor
REPO = "acme/monorepo"
AUTH = "Basic aGFyYm9yOndlYmhvb2stc2VjcmV0"
SHA = "abcdef1234567890abcdef1234567890abcdef12"


def digest(name: str) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


def scan_event(repository: str, artifact: str, *, kind: str = "SCANNING_COMPLETED", tag: str = "") -> bytes:
    """Harbor's payload (its "Default" format) for the end of a scan of ``services/<repository>``."""
    resource: dict[str, Any] = {"digest": artifact, "resource_url": f"harbor.example/services/{repository}@{artifact}"}
    if tag:
        resource["tag"] = tag
    return json.dumps(
        {
            "type": kind,
            "occur_at": int(time.time()),
            "operator": "auto",
            "event_data": {
                "resources": [resource],
                "repository": {
                    "name": repository,
                    "namespace": "services",
                    "repo_full_name": f"services/{repository}",
                    "repo_type": "private",
                },
                "scan": {"scan_type": "vulnerability"},
            },
        }
    ).encode()


@pytest.fixture
def server(acme: Path, tmp_path: Path, harbor: HarborStandin, github: GitHubStandIn) -> Iterator[ServeProcess]:
    auth_file = tmp_path / "harbor-auth"
    auth_file.write_text(AUTH + "\n")
    env = {**os.environ, "GITHUB_TOKEN": TEST_TOKEN}
    args = ["--harbor-auth-file", str(auth_file), "--harbor-url", harbor.url]
    args += ["--github-api-url", github.url, "--github-repo", REPO]
    process = start_serve(acme, *args, env=env)
    yield process
    process.stop()
    assert TEST_TOKEN not in process.log.read_text() and AUTH not in process.log.read_text()


def post(server: ServeProcess, raw: bytes, auth: str = AUTH) -> httpx.Response:
    headers = {"Content-Type": "application/json", "Authorization": auth}
    return httpx.post(f"{server.url}/hooks/harbor", content=raw, headers=headers, timeout=30)


def artifact(standin: HarborStandin, repository: str, *, tags: list[str], marks: dict[str, str], report: str) -> str:
    """An artifact of ``services/<repository>`` in the stand-in, scanned with a Trivy reference report (or not)."""
    found = digest(repository + report + ",".join(tags))
    standin.state.artifact_details[("services", repository, found)] = {
        "digest": found,
        "tags": [{"name": t} for t in tags],
        "annotations": marks,
    }
    if report:
        standin.state.vulnerabilities[("services", repository, found)] = from_trivy(
            report, f"services/{repository}", found
        )
    return found


def sections(github: GitHubStandIn) -> dict[str, str]:
    from shipyard.github.feedback import parse_sections

    (comment,) = [c for c in github.comments.values() if c["x-issue"] == 7]
    return parse_sections(comment["body"])


def review_states(github: GitHubStandIn) -> list[str]:
    return [r["state"] for r in github.reviews.values() if HARBOR_REVIEW_MARKER in r["body"]]


USER, PAYMENT = "harbor-services-user-service", "harbor-services-payment-service"
NOTIFY = "harbor-services-notification-service"
CLEAN, DIRTY = "ubuntu-1804.json", "debian-buster.json"


def test_a_scan_ends_in_the_pull_requests_comment(
    server: ServeProcess, harbor: HarborStandin, github: GitHubStandIn
) -> None:
    github.add_pull(REPO, 7, "open", head=SHA)
    failing = artifact(harbor, "user-service", tags=["pr-7-abcdef1"], marks={}, report=DIRTY)
    passing = artifact(harbor, "payment-service", tags=["latest"], marks={PR_ANNOTATION: "7"}, report=CLEAN)
    unscanned = artifact(harbor, "notification-service", tags=[], marks={REVISION: SHA}, report="")
    events = (("user-service", failing), ("payment-service", passing), ("notification-service", unscanned))
    for repository, found in events:
        assert post(server, scan_event(repository, found)).status_code == 202
    done = server.wait_done(3)["done"]
    assert {r["outcome"]["status"] for r in done} == {"succeeded"}, done
    found_by = sorted(r["outcome"]["artifacts"][0]["foundBy"] for r in done)
    by_head = f"annotation {REVISION} (the head of the open pull request)"
    assert found_by == sorted([f"annotation {PR_ANNOTATION}", by_head, "tag pr-7-abcdef1"])
    text = sections(github)
    assert sorted(text) == sorted([USER, PAYMENT, NOTIFY])
    assert FAILED_MARK in text[USER] and "Vulnerability gate failed" in text[USER]
    assert FAILED_MARK not in text[PAYMENT] and "Vulnerability gate passed" in text[PAYMENT]
    assert FAILED_MARK in text[NOTIFY] and "Not scanned" in text[NOTIFY]  # unknown is never clean
    assert review_states(github) == ["CHANGES_REQUESTED"]

    # Fixed images, scanned again: the change request is dismissed once no image fails.
    clean = artifact(harbor, "user-service", tags=["pr-7-abcdef1"], marks={}, report=CLEAN)
    scanned = artifact(harbor, "notification-service", tags=["pr-7-abcdef1"], marks={REVISION: SHA}, report=CLEAN)
    assert post(server, scan_event("user-service", clean)).status_code == 202
    assert post(server, scan_event("notification-service", scanned)).status_code == 202
    server.wait_done(5)
    text = sections(github)
    assert not any(FAILED_MARK in t for t in text.values())
    assert review_states(github) == ["DISMISSED"]
    assert len([c for c in github.comments.values() if c["x-issue"] == 7]) == 1  # one comment, updated in place


def test_harbor_events_are_authenticated_and_only_scans_are_queued(server: ServeProcess, harbor: HarborStandin) -> None:
    found = artifact(harbor, "user-service", tags=["pr-7-abcdef1"], marks={}, report="")
    event = scan_event("user-service", found)
    assert post(server, event, auth="Basic d3Jvbmc6d3Jvbmc=").status_code == 401
    assert post(server, b"{", auth=AUTH).status_code == 400
    pushed = post(server, scan_event("user-service", found, kind="PUSH_ARTIFACT"))
    assert pushed.status_code == 200 and pushed.json()["recorded"] is True
    runs = httpx.get(f"{server.url}/runs").json()
    assert runs["done"] == [] and runs["waiting"] == []
    untagged = artifact(harbor, "web", tags=["v1.0.0"], marks={}, report="ubuntu-1804.json")
    assert post(server, scan_event("web", untagged)).status_code == 202
    (record,) = server.wait_done(1)["done"]
    assert record["outcome"]["artifacts"][0]["status"] == "ignored"  # not a pull request's image: no comment
