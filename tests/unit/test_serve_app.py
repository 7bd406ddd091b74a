"""The app on uvicorn in a thread, on a loopback port: who may read, what is refused before it is read, and the
pages and JSON of one path. Deliveries are processed by a recording function here; the real processing is
tested with ``shipyard serve`` itself in tests/integration/test_serve*.py."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from shipyard.serve import AuthSettings, Settings, create_app
from shipyard.serve.auth import Identity, identify
from shipyard.serve.queue import Delivery
from tests.localhttp import free_port

SECRET = b"s3cret"
TOKEN = "t0ken-for-alice-0123456789"


@contextlib.contextmanager
def client(tmp_path: Path, auth: AuthSettings | None = None, seen: list[str] | None = None) -> Iterator[httpx.Client]:
    def process(delivery: Delivery) -> dict[str, Any]:
        (seen if seen is not None else []).append(delivery.id)
        return {"status": "recorded"}

    settings = Settings(state_dir=tmp_path / "state", mode="cluster", github_secret=SECRET, auth=auth or AuthSettings())
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, process=process), port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            yield http
    finally:
        server.should_exit = True
        thread.join(30)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[httpx.Client]:
    with client(tmp_path) as test_client:
        yield test_client


def push(delivery: str = "d-1") -> tuple[bytes, dict[str, str]]:
    raw = json.dumps({"ref": "refs/heads/main", "repository": {"pushed_at": int(time.time())}}).encode()
    return raw, {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": "sha256=" + hmac.new(SECRET, raw, hashlib.sha256).hexdigest(),
    }


def test_an_oversized_body_is_refused(app: httpx.Client) -> None:
    _, headers = push()
    answer = app.post("/hooks/github", content=b"x" * (25 * 1024 * 1024 + 1), headers=headers)
    assert answer.status_code == 413


def test_a_delivery_is_processed_once(tmp_path: Path) -> None:
    seen: list[str] = []
    with client(tmp_path, seen=seen) as test_client:
        raw, headers = push()
        assert test_client.post("/hooks/github", content=raw, headers=headers).status_code == 202
        assert test_client.post("/hooks/github", content=raw, headers=headers).status_code == 200
        deadline = time.monotonic() + 10
        while not test_client.get("/runs").json()["done"] and time.monotonic() < deadline:
            time.sleep(0.05)
        (record,) = test_client.get("/runs").json()["done"]
        assert record["outcome"] == {"status": "recorded"} and seen == ["d-1"]
        ping = dict(headers, **{"X-GitHub-Event": "ping"})
        assert test_client.post("/hooks/github", content=raw, headers=ping).json()["pong"] is True


def test_json_for_machines_and_the_home_page_for_browsers(app: httpx.Client) -> None:
    assert app.get("/").json()["links"]["runs"] == "/runs"
    page = app.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "<html" in page.text and 'href="/runs"' in page.text
    assert app.get("/status").status_code == 404  # no workspace: nothing to show, said so
    assert app.get("/runs?limit=0").status_code == 400
    assert app.get("/static/shipyard.js").status_code == 200


def test_tokens_name_the_reader_and_everything_but_hooks_and_health_needs_one(tmp_path: Path) -> None:
    auth = AuthSettings(mode="token", tokens={"alice": TOKEN})
    with client(tmp_path, auth) as test_client:
        assert test_client.get("/runs").status_code == 401
        assert test_client.get("/runs", headers={"Authorization": "Bearer wrong-token-0123456789"}).status_code == 401
        me = test_client.get("/", headers={"Authorization": f"Bearer {TOKEN}"}).json()["identity"]
        assert me == {"name": "alice", "via": "token"}
        test_client.cookies.set("shipyard_token", TOKEN)
        assert test_client.get("/event-log").status_code == 200
        test_client.cookies.clear()
        assert test_client.get("/healthz").status_code == 200
        raw, headers = push()
        assert test_client.post("/hooks/github", content=raw, headers=headers).status_code == 202


def test_a_proxy_is_believed_only_from_its_address() -> None:
    auth = AuthSettings(mode="proxy", trusted_proxies=(ipaddress.ip_network("10.0.0.0/8"),))
    headers = {"x-auth-request-user": "bob"}
    assert identify(auth, headers, "10.1.2.3") == Identity("bob", "proxy")
    assert identify(auth, headers, "192.168.1.1") is None
    assert identify(auth, {}, "10.1.2.3") is None
    assert identify(AuthSettings(), headers, None) == Identity(None, "open")
