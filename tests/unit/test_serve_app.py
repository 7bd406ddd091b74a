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

from shipyard.promotion.tokens import new_token, token_hash
from shipyard.serve import AuthSettings, Settings, create_app
from shipyard.serve.app import build_state
from shipyard.serve.auth import Identity
from shipyard.serve.queue import Delivery
from shipyard.spec.loader import parse_spec
from shipyard.spec.model import Platform
from tests.localhttp import free_port

SECRET = b"s3cret"
PEOPLE = """\
apiVersion: shipyard.dev/v1alpha1
kind: Platform
org: acme
domain: acme.example.com
registry: {url: harbor.acme.example.com}
people:
  alice: {emails: [alice@acme.example.com]}
  bob: {emails: [bob@acme.example.com]}
"""


@contextlib.contextmanager
def client(
    tmp_path: Path, auth: AuthSettings | None = None, seen: list[str] | None = None, platform: Platform | None = None
) -> Iterator[httpx.Client]:
    def process(delivery: Delivery) -> dict[str, Any]:
        (seen if seen is not None else []).append(delivery.id)
        return {"status": "recorded"}

    state = tmp_path / "state"
    settings = Settings(state, "cluster", SECRET, auth=auth or AuthSettings(), platform=platform)
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


def test_json_for_machines_and_pages_for_browsers(app: httpx.Client) -> None:
    assert app.get("/").json()["links"]["runs"] == "/runs"
    home = app.get("/", headers={"Accept": "text/html"})
    assert home.status_code == 303 and home.headers["location"] == "/board"
    page = app.get("/runs", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "<html" in page.text and 'href="/event-log"' in page.text
    assert app.get("/runs?format=json").json()["mode"] == "cluster"
    assert app.get("/status").status_code == 404  # no workspace: nothing to show, said so
    assert app.get("/runs?limit=0").status_code == 400
    assert app.get("/static/shipyard.js").status_code == 200


def people_settings(tmp_path: Path, **tokens: str) -> tuple[Platform, AuthSettings]:
    """A platform listing alice and bob, and a tokens file holding ``tokens`` (person -> token)."""
    path = tmp_path / "tokens"
    path.write_text("".join(f"{person}: {token_hash(token)}\n" for person, token in tokens.items()))
    return parse_spec(PEOPLE), AuthSettings(mode="token", tokens_file=path)


def test_a_persons_token_signs_them_in_and_everything_but_hooks_and_health_needs_one(tmp_path: Path) -> None:
    alice = new_token()
    platform, auth = people_settings(tmp_path, alice=alice)
    with client(tmp_path, auth, platform=platform) as test_client:
        assert test_client.get("/runs").status_code == 401
        wrong = {"Authorization": f"Bearer {new_token()}"}
        assert test_client.get("/runs", headers=wrong).status_code == 401
        me = test_client.get("/", headers={"Authorization": f"Bearer {alice}"}).json()["identity"]
        assert me == {"name": "alice", "via": "token"}
        test_client.cookies.set("shipyard_token", alice)  # serve's own token cookie is gone: one identity system
        assert test_client.get("/event-log").status_code == 401
        test_client.cookies.clear()
        page = test_client.get("/runs?limit=5", headers={"Accept": "text/html"})
        assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Fruns%3Flimit%3D5"
        assert "HttpOnly" in page.headers["set-cookie"] and "SameSite=Strict" in page.headers["set-cookie"]
        assert test_client.get("/healthz").status_code == 200
        raw, headers = push()
        assert test_client.post("/hooks/github", content=raw, headers=headers).status_code == 202


def _csrf(html: str) -> str:
    return html.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def test_signing_in_opens_a_new_session_that_signing_out_or_revoking_the_token_ends(tmp_path: Path) -> None:
    alice, again = new_token(), new_token()
    platform, auth = people_settings(tmp_path, alice=alice)
    html = {"Accept": "text/html"}
    with client(tmp_path, auth, platform=platform) as test_client:
        origin = {"Origin": str(test_client.base_url).rstrip("/"), **html}
        anonymous = _csrf(test_client.get("/login", headers=html).text)
        refused = test_client.post("/login", data={"token": alice}, headers=origin)  # a forged sign-in
        assert refused.status_code == 403 and "shipyard_session" in test_client.cookies
        wrong = test_client.post("/login", data={"csrf": anonymous, "token": new_token()}, headers=origin)
        assert wrong.status_code == 401 and "signs nobody in" in wrong.text
        signed = test_client.post("/login", data={"csrf": anonymous, "token": alice, "next": "//evil"}, headers=origin)
        assert signed.status_code == 303 and signed.headers["location"] == "/board"  # never another site
        assert test_client.get("/", headers={"Accept": "application/json"}).json()["identity"]["via"] == "session"
        # A new session: the anonymous one's CSRF token no longer passes.
        assert test_client.post("/logout", data={"csrf": anonymous}, headers=origin).status_code == 403
        copied = test_client.cookies["shipyard_session"]
        csrf = _csrf(test_client.get("/board", headers=html).text)
        assert test_client.post("/logout", data={"csrf": csrf}, headers=origin).status_code == 303
        test_client.cookies.set("shipyard_session", copied)  # a copy kept from before signing out
        assert test_client.get("/runs").status_code == 401

        test_client.cookies.clear()
        fresh = _csrf(test_client.get("/login", headers=html).text)
        test_client.post("/login", data={"csrf": fresh, "token": alice}, headers=origin)
        assert test_client.get("/runs").status_code == 200
        (tmp_path / "tokens").write_text(f"alice: {token_hash(again)}\n")  # her old token revoked, a new one made
        assert test_client.get("/runs").status_code == 401
    # A session ended by signing out stays ended after a restart.
    with client(tmp_path, auth, platform=platform) as restarted:
        restarted.cookies.set("shipyard_session", copied)
        assert restarted.get("/runs").status_code == 401


def test_a_navigation_from_another_site_reloads_from_this_one_before_it_gets_a_session(tmp_path: Path) -> None:
    with client(tmp_path) as test_client:
        headers = {"Accept": "text/html", "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}
        answer = test_client.get("/board", headers=headers)
        assert answer.status_code == 200 and 'http-equiv="refresh"' in answer.text
        assert "set-cookie" not in answer.headers  # the person's own SameSite=Strict cookie comes with the reload


def test_a_proxy_is_believed_only_from_its_address(tmp_path: Path) -> None:
    platform = parse_spec(PEOPLE)
    proxy = AuthSettings(mode="proxy", trusted_proxies=(ipaddress.ip_network("10.0.0.0/8"),))
    access = build_state(Settings(state_dir=tmp_path, platform=platform, auth=proxy)).access
    headers = {"x-auth-request-user": "bob"}
    assert access.identify(headers, "10.1.2.3", None) == Identity("bob", "proxy")
    # An email the spec lists names its person, so decisions are recorded under the person's id.
    assert access.identify({"x-auth-request-user": "Alice@acme.example.com"}, "10.1.2.3", None) == Identity(
        "alice", "proxy"
    )
    assert access.identify(headers, "192.168.1.1", None) is None
    assert access.identify({}, "10.1.2.3", None) is None
    open_access = build_state(Settings(state_dir=tmp_path / "open")).access
    assert open_access.identify(headers, None, None) == Identity(None, "open")
