"""``shipyard pr comment`` and the GitHub client, against a local stand-in for GitHub's REST API.

No GitHub is reachable from here. The stand-in (tests/standins/github.py) checks every request against
GitHub's own OpenAPI description from npm @octokit/openapi and answers per it; any contract violation
fails the test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from pathlib import Path

import pytest

from shipyard.github.client import GitHubClient, GitHubError, load_token
from shipyard.github.feedback import MARKER, Feedback, apply_feedback, plan_feedback
from shipyard.scan import evaluate, load_report
from tests.localhttp import serve, stop
from tests.realparts import need_reference
from tests.standins.github import TEST_TOKEN, GitHubStandIn

pytestmark = pytest.mark.integration

TOKEN = TEST_TOKEN
REPO = "acme/monorepo"


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _client(github: GitHubStandIn, sleeps: Sleeps | None = None) -> GitHubClient:
    return GitHubClient(
        token=TOKEN, api_url=github.url, sleep=sleeps if sleeps is not None else Sleeps(), clock=lambda: 1_000_000.0
    )


def _run(github: GitHubStandIn, number: int, feedback: Feedback) -> list[str]:
    client = _client(github)
    plan = plan_feedback(client, REPO, number, feedback)
    apply_feedback(client, REPO, number, feedback, plan)
    return [a.op.value + ":" + str(a.details["kind"]) for a in plan.actions]


def _failing_gate() -> Feedback:
    report = load_report(need_reference("trivy", "debian-buster.json"))
    return Feedback(gate=evaluate([report]), affected=["user-service"])


def _passing_gate() -> Feedback:
    report = load_report(need_reference("trivy", "ubuntu-1804.json"))
    return Feedback(gate=evaluate([report]), affected=["user-service"])


def test_one_comment_posted_then_updated_in_place(github: GitHubStandIn) -> None:
    github.add_comment(REPO, 7, "LGTM", login="a-person")
    assert _run(github, 7, Feedback(affected=["user-service"])) == ["create:comment"]
    assert _run(github, 7, Feedback(affected=["user-service"])) == []  # nothing changed, nothing written
    assert _run(github, 7, Feedback(affected=["user-service", "payment-service"])) == ["update:comment"]
    ours = [c for c in github.comments.values() if MARKER in c["body"]]
    assert len(ours) == 1
    assert "`payment-service`" in ours[0]["body"]
    assert any(c["body"] == "LGTM" for c in github.comments.values())


def test_a_failing_gate_requests_changes_once_and_a_pass_dismisses(github: GitHubStandIn) -> None:
    assert _run(github, 8, _failing_gate()) == ["create:comment", "create:review"]
    review = next(iter(github.reviews.values()))
    assert review["state"] == "CHANGES_REQUESTED"
    assert _run(github, 8, _failing_gate()) == []  # re-run: no second review
    assert _run(github, 8, _passing_gate()) == ["update:comment", "update:dismissal"]
    assert review["state"] == "DISMISSED"
    body = next(c["body"] for c in github.comments.values() if MARKER in c["body"])
    assert "Vulnerability gate passed" in body


def test_marker_found_on_a_later_page(github: GitHubStandIn) -> None:
    for index in range(120):
        github.add_comment(REPO, 9, f"chatter {index}")
    first = _run(github, 9, Feedback(affected=[]))
    assert first == ["create:comment"]
    assert _run(github, 9, Feedback(affected=["user-service"])) == ["update:comment"]
    pages = [r.query.get("page") for r in github.requests if r.path.endswith("/issues/9/comments")]
    assert "2" in pages


def test_rate_limits_are_waited_out_as_github_asks(github: GitHubStandIn) -> None:
    sleeps = Sleeps()
    client = _client(github, sleeps)
    github.refuse_next(429, {"Retry-After": "7"}, {"message": "You have exceeded a secondary rate limit"})
    limited = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1000030"}
    github.refuse_next(403, limited, {"message": "API rate limit exceeded"})
    comments = list(client.paginate(f"/repos/{REPO}/issues/10/comments"))
    assert comments == []
    assert sleeps == [7.0, 31.0]  # Retry-After, then reset - now + 1


def test_a_rate_limit_reset_beyond_the_bound_is_not_waited(github: GitHubStandIn) -> None:
    sleeps = Sleeps()
    client = _client(github, sleeps)
    limited = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(1_000_000 + 3600)}
    github.refuse_next(403, limited, {"message": "API rate limit exceeded"})
    with pytest.raises(GitHubError, match=r"answered 403 .*asked to wait 1h1s, longer than the 15m") as caught:
        client.request("GET", f"/repos/{REPO}/issues/10/comments")
    assert sleeps == [] and caught.value.status == 403


def test_a_next_page_link_that_repeats_is_stopped() -> None:
    class Looping(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            assert isinstance(self.server, HTTPServer)
            port = self.server.server_port
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            # Page 2 names itself as the next page, forever.
            self.send_header("Link", f'<http://127.0.0.1:{port}/repos/a/b/issues/1/comments?page=2>; rel="next"')
            self.end_headers()
            self.wfile.write(b'[{"id": 1}]')

        def log_message(self, format: str, *args: object) -> None:
            return

    server = serve(Looping)
    try:
        client = GitHubClient(token=TOKEN, api_url=f"http://127.0.0.1:{server.server_address[1]}", sleep=Sleeps())
        with pytest.raises(GitHubError, match="the same next page twice"):
            list(client.paginate("/repos/a/b/issues/1/comments"))
        client.close()
    finally:
        stop(server)


def test_refusals_name_the_request_never_the_token(github: GitHubStandIn) -> None:
    client = GitHubClient(token="ghp_WRONG_TOKEN_SHOULD_NOT_LEAK", api_url=github.url, sleep=Sleeps())
    with pytest.raises(GitHubError) as caught:
        client.request("GET", f"/repos/{REPO}/issues/1/comments")
    assert caught.value.status == 401
    assert "ghp_WRONG" not in str(caught.value) and "ghp_WRONG" not in repr(client)
    github.requests.clear()  # a wrong token is not a contract violation of ours


def test_the_stand_in_rejects_what_github_would(github: GitHubStandIn) -> None:
    client = _client(github)
    with pytest.raises(GitHubError) as caught:
        client.request("POST", f"/repos/{REPO}/issues/3/comments", {"text": "wrong field"})
    assert caught.value.status == 400
    assert "'body' is a required property" in str(caught.value)
    assert github.violations
    github.requests.clear()  # the violation was the point of this test


def test_plain_http_to_a_remote_host_is_refused() -> None:
    client = GitHubClient(token=TOKEN, api_url="http://github.example.invalid", sleep=Sleeps())
    with pytest.raises(GitHubError, match="refusing to send the token"):
        client.request("GET", "/user")


def test_cli_posts_the_comment_and_never_prints_the_token(github: GitHubStandIn, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    affected = tmp_path / "affected.json"
    affected.write_text('["user-service"]')
    truncated = tmp_path / "scan.json"
    truncated.write_bytes(need_reference("trivy", "alpine-310.json").read_bytes()[:300])
    args = ["--repo", REPO, "--pr", "11", "--token-file", str(token_file), "--api-url", github.url]
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "GH_TOKEN")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "shipyard",
            "pr",
            "comment",
            *args,
            "--affected",
            str(affected),
            "--scan",
            str(truncated),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert TOKEN not in proc.stdout + proc.stderr
    plan = json.loads(proc.stdout)
    assert [a["op"] for a in plan["actions"]] == ["create", "create"]
    body = next(c["body"] for c in github.comments.values())
    assert "could not be read" in body and "truncated" in body  # an unreadable report is never a pass
    assert next(iter(github.reviews.values()))["state"] == "CHANGES_REQUESTED"

    wrong = tmp_path / "wrong"
    wrong.write_text("ghp_ANOTHER_SECRET_VALUE")
    denied = subprocess.run(
        [
            sys.executable,
            "-m",
            "shipyard",
            "pr",
            "comment",
            "--repo",
            REPO,
            "--pr",
            "11",
            "--token-file",
            str(wrong),
            "--api-url",
            github.url,
        ],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert denied.returncode == 2
    assert "401" in denied.stderr and "ghp_ANOTHER" not in denied.stderr + denied.stdout
    assert "Traceback" not in denied.stderr
    github.requests = [r for r in github.requests if r.headers.get("authorization") == f"Bearer {TOKEN}"]


def test_dry_run_reads_but_writes_nothing(github: GitHubStandIn, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    args = ["--repo", REPO, "--pr", "12", "--token-file", str(token_file), "--api-url", github.url, "--dry-run"]
    proc = subprocess.run(
        [sys.executable, "-m", "shipyard", "pr", "comment", *args], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "create  acme/monorepo#12 comment" in proc.stdout
    assert {r.method for r in github.requests} == {"GET"}
    assert github.comments == {}


def test_the_token_does_not_follow_a_redirect_to_another_host() -> None:
    seen: dict[str, str | None] = {}

    class Target(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen["authorization"] = self.headers.get("Authorization")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"[]")

        def log_message(self, format: str, *args: object) -> None:
            return

    target = ThreadingHTTPServer(("127.0.0.1", 0), Target)

    class Redirect(Target):
        def do_GET(self) -> None:
            self.send_response(307)
            # "localhost" is another host than "127.0.0.1" as far as the URL goes.
            self.send_header("Location", f"http://localhost:{target.server_address[1]}/elsewhere")
            self.end_headers()

    source = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (target, source)]
    for thread in threads:
        thread.start()
    try:
        client = GitHubClient(token=TOKEN, api_url=f"http://127.0.0.1:{source.server_address[1]}", sleep=Sleeps())
        assert client.request("GET", "/repos/a/b/issues/1/comments").data == []
        assert seen == {"authorization": None}
    finally:
        for server in (target, source):
            server.shutdown()
            server.server_close()


def test_token_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "from-the-environment")  # read by the CLI's option, not by the library
    with pytest.raises(GitHubError, match="no GitHub token"):
        load_token()
    with pytest.raises(GitHubError, match="no GitHub token"):
        load_token(None, "  ")
    assert load_token(None, "given\n") == "given"
    token_file = tmp_path / "token"
    token_file.write_text("from-file\n")
    assert load_token(token_file, "given") == "from-file"
    token_file.write_text("\n")
    with pytest.raises(GitHubError, match="empty"):
        load_token(token_file)
