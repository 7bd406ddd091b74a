"""``shipyard serve`` as a real process on a loopback port: the embedded mode runs a rendered pipeline through
``ci run``, refused requests never reach the queue, a killed server loses no accepted delivery, the API says
what the CLI says, and the event stream reports runs.

In cluster mode the EventListener is a small loopback HTTP server that records what it is handed: no Tekton
runs here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest

from shipyard.ci.signature import MAX_PAYLOAD
from tests.localhttp import serve, stop
from tests.serveparts import SECRET, ServeProcess, closed_pr, github_delivery, start_serve

pytestmark = pytest.mark.integration


def _shipyard(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shipyard", *args], cwd=cwd, capture_output=True, text=True, check=False, env=env
    )


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "webhook-secret"
    path.write_bytes(SECRET + b"\n")
    return path


@pytest.fixture
def cluster(acme: Path, secret_file: Path) -> Iterator[ServeProcess]:
    """serve in cluster mode without an EventListener: it records events only."""
    server = start_serve(acme, "--mode", "cluster", "--webhook-secret-file", str(secret_file))
    yield server
    server.stop()


def _post(server: ServeProcess, raw: bytes, headers: dict[str, str], hook: str = "github") -> httpx.Response:
    return httpx.post(f"{server.url}/hooks/{hook}", content=raw, headers=headers, timeout=30)


def test_embedded_mode_runs_the_rendered_pipeline_with_ci_run(acme: Path, tmp_path: Path, secret_file: Path) -> None:
    assert _shipyard(acme, "ci", "render").returncode == 0
    up = _shipyard(acme, "preview", "up", "--pr", "7", "--sha", "0123456789abcdef0123456789abcdef01234567")
    assert up.returncode == 0, up.stderr
    credentials = tmp_path / "git-credentials"
    credentials.mkdir()
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # the steps call `shipyard`
    env.pop("GIT_CONFIG_GLOBAL")  # the step's `git config --global` writes into its TaskRun's own HOME
    server = start_serve(
        acme,
        "--webhook-secret-file",
        str(secret_file),
        "--workspace",
        "source=.",  # the clone lands in the monorepo itself, next to its local config repo
        "--workspace",
        f"git-credentials={credentials}",
        env=env,
    )
    try:
        raw, headers = github_delivery("pull_request", closed_pr(7, str(acme)))
        accepted = _post(server, raw, headers)
        assert accepted.status_code == 202, accepted.text
        (record,) = server.wait_done(1, timeout=180)["done"]
        assert record["outcome"]["status"] == "succeeded", record
        (run,) = record["outcome"]["run"]["pipelineRuns"]
        assert (run["pipeline"], run["status"]) == ("preview-teardown", "Succeeded")
        assert record["outcome"]["run"]["signatureChecked"] is True
        step = run["tasks"][1]["taskRuns"][0]
        log = httpx.get(f"{server.url}/runs/{record['name']}/logs/{step['name']}/{step['steps'][0]['name']}")
        assert log.status_code == 200 and log.text
        forged = httpx.get(f"{server.url}/runs/{record['name']}/logs/..%2F..%2Fetc/passwd")
        assert forged.status_code == 404
    finally:
        server.stop()
    assert "no previews" in _shipyard(acme, "preview", "list").stdout


def test_refused_requests_never_reach_the_queue(acme: Path, cluster: ServeProcess) -> None:
    raw, headers = github_delivery("pull_request", closed_pr(3, "u"))
    unsigned = {k: v for k, v in headers.items() if k != "X-Hub-Signature-256"}
    forged = {**headers, "X-Hub-Signature-256": "sha256=" + "0" * 64}
    garbage = b"{not json"  # signed with the right secret: only parsing can refuse it
    _, garbage_headers = github_delivery("pull_request", {}, delivery="garbage-1")
    garbage_headers["X-Hub-Signature-256"] = "sha256=" + hmac.new(SECRET, garbage, hashlib.sha256).hexdigest()
    form = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
    stale_raw, stale_headers = github_delivery("pull_request", closed_pr(4, "u", updated_at=time.time() - 4 * 86400))
    answers = {
        "unsigned": _post(cluster, raw, unsigned).status_code,
        "forged": _post(cluster, raw, forged).status_code,
        "malformed": _post(cluster, garbage, garbage_headers).status_code,
        "oversized": _post(cluster, b"x" * (MAX_PAYLOAD + 1), headers).status_code,
        "form-encoded": _post(cluster, raw, form).status_code,
        "stale": _post(cluster, stale_raw, stale_headers).status_code,
        "harbor unauthenticated": _post(cluster, b"{}", {"Content-Type": "application/json"}, "harbor").status_code,
    }
    assert answers == {
        "unsigned": 401,
        "forged": 401,
        "malformed": 400,
        "oversized": 413,
        "form-encoded": 415,
        "stale": 422,
        "harbor unauthenticated": 404,  # serve was started without Harbor's auth: the hook is off
    }
    runs = httpx.get(f"{cluster.url}/runs").json()
    assert runs["done"] == [] and runs["waiting"] == [] and runs["running"] == []
    queue = acme / ".shipyard" / "serve" / "queue"
    assert [p.name for p in (queue / "pending").iterdir()] == []
    first, again = _post(cluster, raw, headers), _post(cluster, raw, headers)
    assert (first.status_code, again.status_code) == (202, 200) and again.json()["duplicate"] is True
    (record,) = cluster.wait_done(1)["done"]
    assert record["outcome"] == {"status": "recorded"} and record["id"] == headers["X-GitHub-Delivery"]
    log = httpx.get(f"{cluster.url}/event-log").json()["events"]
    kinds = [e["kind"] for e in log]
    assert kinds.count("refused") == 7 and kinds.count("duplicate") == 1
    assert SECRET.decode() not in cluster.log.read_text() + json.dumps(log)


def test_the_event_stream_reports_a_delivery(cluster: ServeProcess) -> None:
    seen: list[str] = []
    ready = threading.Event()

    def listen() -> None:
        with httpx.stream("GET", f"{cluster.url}/events", timeout=30) as stream:
            for line in stream.iter_lines():
                if line.startswith("event: hello"):
                    ready.set()
                if line.startswith("data: ") and '"state"' in line:
                    seen.append(json.loads(line.removeprefix("data: "))["state"])
                    if seen[-1] == "recorded":
                        return

    reader = threading.Thread(target=listen, daemon=True)
    reader.start()
    assert ready.wait(30)
    raw, headers = github_delivery("pull_request", closed_pr(5, "u"))
    assert _post(cluster, raw, headers).status_code == 202
    reader.join(30)
    assert seen == ["queued", "running", "recorded"]


def test_the_api_says_what_the_cli_says(acme: Path, cluster: ServeProcess) -> None:
    for command in (
        ["render"],
        ["freight", "add", "--version", "v1.2.0-alpha.20261125100000", "--image", "user-service=sha256:" + "a" * 64],
        ["promote", "--auto"],
    ):
        done = _shipyard(acme, *command)
        assert done.returncode == 0, done.stderr
    pairs = {
        "/status": ["status", "--json"],
        "/freight": ["freight", "list", "--json"],
        "/trace/user-service": ["trace", "user-service", "--json"],
        "/sandbox": ["sandbox", "status", "--json"],
    }
    for path, command in pairs.items():
        cli = _shipyard(acme, *command)
        assert cli.returncode == 0, cli.stderr
        api = httpx.get(cluster.url + path, headers={"Accept": "application/json"}, timeout=30)
        assert api.status_code == 200, api.text
        served, printed = api.json(), json.loads(cli.stdout)
        if path == "/sandbox":  # ages are measured at the moment of asking
            for data in (served, printed):
                data.pop("ageSeconds", None)
        assert served == printed, path
        assert served, path  # not empty: a board with a placement, a trace, a freight
    previews = httpx.get(cluster.url + "/previews").json()
    assert previews["previews"] == json.loads(_shipyard(acme, "preview", "list", "--json").stdout)["previews"]


class SlowListener:
    """A stand-in for Tekton's EventListener: takes each delivery after a short pause, and records its id."""

    def __init__(self, pause: float) -> None:
        self.seen: list[str] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(pause)
                listener.seen.append(self.headers["X-GitHub-Delivery"])
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = serve(Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"


def test_a_killed_server_loses_no_accepted_delivery(acme: Path, secret_file: Path) -> None:
    listener = SlowListener(pause=0.1)
    args = ("--mode", "cluster", "--webhook-secret-file", str(secret_file), "--forward-to", listener.url)
    try:
        server = start_serve(acme, *args)
        ids = []
        for number in range(1, 41):
            raw, headers = github_delivery("pull_request", closed_pr(number, "u"))
            assert _post(server, raw, headers).status_code == 202
            ids.append(headers["X-GitHub-Delivery"])
        while len(listener.seen) < 5:
            time.sleep(0.05)
        server.kill()  # mid-queue: most deliveries are still pending on disk
        handed = len(listener.seen)
        assert handed < len(ids)
        again = start_serve(acme, *args)
        try:
            done = again.wait_done(len(ids))["done"]
            # A redelivery GitHub makes after the crash is a duplicate, not new work.
            raw, headers = github_delivery("pull_request", closed_pr(1, "u"), delivery=ids[0])
            assert _post(again, raw, headers).json().get("duplicate") is True
        finally:
            again.stop()
    finally:
        stop(listener.server)
    assert sorted(r["id"] for r in done) == sorted(ids)  # every accepted delivery done, each recorded once
    assert {r["outcome"]["status"] for r in done} == {"forwarded"}
    assert set(listener.seen) == set(ids)
    # Handed on twice only if the kill came while it was being handed on: it is then marked recovered.
    twice = {i for i in ids if listener.seen.count(i) > 1}
    assert twice <= {r["id"] for r in done if r["recovered"]} and len(twice) <= 1
    assert any(r["recovered"] for r in done)


def test_the_cli_checks_its_settings_before_serving(acme: Path, secret_file: Path, tmp_path: Path) -> None:
    beyond = _shipyard(acme, "serve", "--host", "0.0.0.0", "--dry-run")
    assert beyond.returncode == 2 and "--auth token" in beyond.stderr
    tokens = _shipyard(acme, "serve", "--auth", "token", "--tokens-file", str(tmp_path / "tokens"), "--dry-run")
    assert tokens.returncode == 2 and "lists no people" in tokens.stderr  # tokens are people's: none listed
    nobody = _shipyard(acme, "serve", "--auth", "token", "--dry-run")
    assert nobody.returncode == 0 and "nobody can sign in" in nobody.stderr  # only the webhooks answer
    unrendered = _shipyard(acme, "serve", "--webhook-secret-file", str(secret_file), "--dry-run")
    assert unrendered.returncode == 2 and "shipyard ci render" in unrendered.stderr
    harbor = tmp_path / "harbor-auth"
    harbor.write_text("Basic secret-header-value\n")
    no_repo = _shipyard(acme, "serve", "--harbor-auth-file", str(harbor), "--dry-run")
    assert no_repo.returncode == 2 and "--github-repo" in no_repo.stderr
    assert _shipyard(acme, "ci", "render").returncode == 0
    planned = _shipyard(acme, "serve", "--webhook-secret-file", str(secret_file), "--mode", "cluster", "--dry-run")
    assert planned.returncode == 0, planned.stderr
    data = json.loads(planned.stdout)
    assert data["hooks"] == {"github": True, "harbor": False} and data["auth"] == "open"
    assert SECRET.decode() not in planned.stdout + planned.stderr
