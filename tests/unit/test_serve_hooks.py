"""The webhook readers: the signature or header first, then every field; hostile input is refused with a 4xx
reason, never an exception of another kind."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipyard.serve.github_hook import read_github
from shipyard.serve.harbor_hook import read_harbor
from shipyard.serve.refusal import Refused

SECRET = b"s3cret"
NOW = 1_800_000_000.0
WINDOW = 3 * 86400.0


def signed(body: bytes, **extra: str) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "x-github-event": "push",
        "x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "x-hub-signature-256": "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest(),
        **extra,
    }


def github(body: bytes, headers: dict[str, str], secret: bytes | None = SECRET) -> Any:
    return read_github(headers, body, secret, now=NOW, window=WINDOW, skew=300)


def refusal(call: Any) -> tuple[int, str]:
    with pytest.raises(Refused) as caught:
        call()
    return caught.value.status, caught.value.message


PUSH = json.dumps({"ref": "refs/heads/develop", "repository": {"pushed_at": int(NOW) - 60}}).encode()


def test_a_signed_push_is_read_with_its_ref_and_time() -> None:
    event = github(PUSH, signed(PUSH))
    assert (event.event, event.key, event.occurred, event.routed) == ("push", "ref:refs/heads/develop", NOW - 60, True)


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({"x-hub-signature-256": ""}, 401, "unsigned"),
        ({"x-hub-signature-256": "sha256=" + "0" * 64}, 401, "does not match"),
        ({"x-hub-signature-256": "sha1=abc"}, 401, "sha256="),
        ({"x-github-event": ""}, 400, "X-GitHub-Event"),
        ({"x-github-event": "Push; rm"}, 400, "X-GitHub-Event"),
        ({"x-github-delivery": "../etc"}, 400, "X-GitHub-Delivery"),
        ({"content-type": "application/x-www-form-urlencoded"}, 415, "application/json"),
    ],
)
def test_github_headers_are_checked(change: dict[str, str], status: int, words: str) -> None:
    got, message = refusal(lambda: github(PUSH, {**signed(PUSH), **change}))
    assert got == status and words in message


def test_the_signature_is_checked_before_the_body_is_parsed() -> None:
    garbage = b"\xff{not json"
    assert refusal(lambda: github(garbage, {**signed(PUSH)}))[0] == 401  # signed for another body
    assert refusal(lambda: github(garbage, signed(garbage)))[0] == 400
    assert refusal(lambda: github(PUSH, signed(PUSH), secret=None))[0] == 404


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"ref": "refs/heads/x", "repository": {"pushed_at": int(NOW - WINDOW) - 1}}, 422, "stale"),
        ({"ref": "refs/heads/x", "repository": {"pushed_at": int(NOW) + 3600}}, 422, "future"),
        ({"ref": "refs/heads/x", "repository": {"pushed_at": "yesterday"}}, 400, "not a timestamp"),
        ({"ref": "refs/heads/x", "repository": {"pushed_at": True}}, 400, "not a timestamp"),
        ({"repository": {}}, 400, "without a ref"),
        ([1, 2], 400, "not a JSON object"),
    ],
)
def test_github_bodies_are_checked(body: Any, status: int, words: str) -> None:
    raw = json.dumps(body).encode()
    got, message = refusal(lambda: github(raw, signed(raw)))
    assert got == status and words in message


def test_pull_requests_are_keyed_by_number_and_timed_by_their_update() -> None:
    raw = json.dumps({"number": 7, "pull_request": {"updated_at": "2027-01-15T08:00:00Z"}}).encode()
    event = github(raw, signed(raw, **{"x-github-event": "pull_request"}))
    assert event.key == "pr:7" and event.occurred == NOW  # 2027-01-15T08:00:00Z


@given(st.binary(max_size=512), st.dictionaries(st.sampled_from(["x-github-event", "x-github-delivery"]), st.text()))
def test_any_unsigned_input_is_refused_with_401(body: bytes, headers: dict[str, str]) -> None:
    assert refusal(lambda: github(body, {"content-type": "application/json", **headers}))[0] == 401


@given(st.binary(max_size=512))
def test_any_signed_body_is_read_or_refused_with_a_4xx(body: bytes) -> None:
    try:
        github(body, signed(body))
    except Refused as exc:
        assert 400 <= exc.status < 500


AUTH = b"Basic c2hpcHlhcmQ6c2VjcmV0"
REPOSITORY = {"name": "x", "namespace": "p"}
DIGEST = "sha256:" + "a" * 64


def harbor_body(**change: Any) -> bytes:
    body: dict[str, Any] = {
        "type": "SCANNING_COMPLETED",
        "occur_at": int(NOW) - 5,
        "operator": "auto",
        "event_data": {
            "resources": [{"digest": DIGEST, "tag": "pr-7-abcdef1"}],
            "repository": {"name": "user-service", "namespace": "services", "repo_full_name": "services/user-service"},
            "scan": {"scan_type": "vulnerability"},
        },
    }
    body.update(change)
    return json.dumps(body).encode()


def harbor(raw: bytes, auth: str | None = AUTH.decode(), expected: bytes | None = AUTH) -> Any:
    headers = {"authorization": auth} if auth is not None else {}
    return read_harbor(headers, raw, expected, now=NOW, window=WINDOW, skew=300)


def test_a_harbor_scan_event_is_read() -> None:
    event = harbor(harbor_body())
    assert event.wanted and event.key == f"harbor:services/user-service@{DIGEST}"
    assert event.artifacts[0].tag == "pr-7-abcdef1" and len(event.id) == 40
    assert not harbor(harbor_body(type="PUSH_ARTIFACT")).wanted


@pytest.mark.parametrize(
    ("raw", "auth", "status"),
    [
        (harbor_body(), None, 401),
        (harbor_body(), "Basic d3Jvbmc=", 401),
        (b"{", AUTH.decode(), 400),
        (harbor_body(type="scan done"), AUTH.decode(), 400),
        (harbor_body(occur_at="now"), AUTH.decode(), 400),
        (harbor_body(occur_at=int(NOW - WINDOW) - 10), AUTH.decode(), 422),
        (harbor_body(event_data={"repository": {"name": "../x", "namespace": "p"}}), AUTH.decode(), 400),
        (harbor_body(event_data={"repository": REPOSITORY, "resources": [{"digest": "md5:1"}]}), AUTH.decode(), 400),
    ],
)
def test_harbor_events_are_checked(raw: bytes, auth: str | None, status: int) -> None:
    assert refusal(lambda: harbor(raw, auth))[0] == status


def test_the_harbor_hook_is_off_without_its_auth() -> None:
    assert refusal(lambda: harbor(harbor_body(), expected=None))[0] == 404


@pytest.mark.parametrize("depth", [101, 900, 200_000])
def test_a_body_nested_past_the_json_limit_is_refused_by_both_hooks(depth: int) -> None:
    """The hooks parse with the same bounded JSON reader as every other input: deep data is a 400 even when
    Python's own parser would take it (900 levels) and is never a RecursionError (200,000)."""
    raw = b'{"ref": "refs/heads/x", "a": ' + b"[" * depth + b"]" * depth + b"}"
    got, message = refusal(lambda: github(raw, signed(raw)))
    assert got == 400 and "nests deeper than 100 levels" in message
    got, message = refusal(lambda: harbor(b'{"type": "SCANNING_COMPLETED", "a": ' + b"[" * depth + b"]" * depth + b"}"))
    assert got == 400 and "nests deeper than 100 levels" in message
