"""Sessions, CSRF and sign-in for serve's pages, without a server: the signed cookie, the checks a form must
pass, where a sign-in may lead, and the tokens file read again when it changes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipyard.promotion.tokens import new_token, token_hash
from shipyard.serve.csrf import Refusal, check_origin, check_token
from shipyard.serve.login import safe_next
from shipyard.serve.people import People
from shipyard.serve.sessions import (
    EndedSessions,
    Session,
    SessionCodec,
    SessionSecretError,
    cookie,
    load_secret,
    token_fingerprint,
)
from shipyard.spec.loader import parse_spec

SECRET = b"k" * 32
NOW = 1_800_000_000.0
PEOPLE = """\
apiVersion: shipyard.dev/v1alpha1
kind: Platform
org: acme
domain: acme.example.com
registry: {url: harbor.acme.example.com}
people:
  alice: {emails: [alice@acme.example.com]}
"""


def test_a_session_reads_back_only_as_it_was_signed() -> None:
    codec = SessionCodec(SECRET)
    session = Session.new(NOW, 3600, "alice", token_fingerprint(new_token()))
    value = codec.encode(session)
    assert codec.decode(value, NOW) == Session(
        session.sid, session.csrf, float(int(session.expires)), "alice", session.token
    )
    version, body, signature = value.split(".")
    forged = Session(session.sid, session.csrf, session.expires, "bob", session.token)
    forged_body = codec.encode(forged).split(".")[1]
    assert codec.decode(f"{version}.{forged_body}.{signature}", NOW) is None  # another person, the old signature
    assert codec.decode(f"{version}.{body}.{signature[:-2]}AA", NOW) is None
    assert SessionCodec(b"o" * 32).decode(value, NOW) is None  # another server's secret
    assert codec.decode(value, session.expires + 1) is None  # expired
    assert codec.decode("v1." + "A" * 5000 + ".x", NOW) is None
    with pytest.raises(SessionSecretError):
        SessionCodec(b"short")


@given(st.text(max_size=300))
def test_no_text_decodes_to_a_session_without_the_secret(text: str) -> None:
    assert SessionCodec(SECRET).decode(text, NOW) is None


def test_two_sessions_never_share_an_id_or_a_csrf_token() -> None:
    sessions = [Session.new(NOW, 60) for _ in range(200)]
    assert len({s.sid for s in sessions}) == 200 and len({s.csrf for s in sessions}) == 200
    assert all(len(s.csrf) >= 40 for s in sessions)


def test_the_cookie_is_http_only_strict_and_secure_over_tls() -> None:
    plain = cookie("v", secure=False, max_age=60)
    assert "HttpOnly" in plain and "SameSite=Strict" in plain and "Secure" not in plain
    assert cookie("v", secure=True, max_age=60).endswith("; Secure")


def test_the_secret_is_made_once_for_its_owner_only(tmp_path: Path) -> None:
    first = load_secret(tmp_path / "sessions")
    assert load_secret(tmp_path / "sessions") == first and len(first) >= 32
    mode = stat.S_IMODE(os.stat(tmp_path / "sessions" / "session-secret").st_mode)
    assert mode == 0o600
    (tmp_path / "sessions" / "session-secret").write_text("short")
    with pytest.raises(SessionSecretError, match="shorter than"):
        load_secret(tmp_path / "sessions")


def test_ended_sessions_are_remembered_until_they_would_have_expired(tmp_path: Path) -> None:
    ended = EndedSessions(tmp_path, NOW)
    old, live = Session("old", "c", NOW + 10), Session("live", "c", NOW + 3600)
    ended.end(old)
    ended.end(live)
    assert "old" in ended and "live" in ended
    later = EndedSessions(tmp_path, NOW + 60)  # a restart, a minute on
    assert "live" in later and "old" not in later


ORIGIN_CASES = [
    ({"host": "ci.example.com", "origin": "http://ci.example.com"}, False, None),
    ({"host": "ci.example.com", "origin": "https://evil.example.com"}, False, "Origin"),
    ({"host": "ci.example.com", "origin": "null"}, False, "Origin"),
    ({"host": "ci.example.com", "origin": "http://ci.example.com:8080"}, False, "Origin"),
    ({"host": "ci.example.com", "referer": "http://ci.example.com/approvals"}, False, None),
    ({"host": "ci.example.com", "referer": "http://evil.example.com/ci.example.com"}, False, "Referer"),
    ({"host": "ci.example.com"}, False, "neither"),
    ({"host": "ci.example.com"}, True, None),  # a bearer token: no browser sends it on its own
    ({"host": "ci.example.com", "origin": "https://evil.example.com"}, True, "Origin"),
    ({"host": "serve:8080", "origin": "https://ci.acme.example.com"}, False, None),  # the public URL
]


@pytest.mark.parametrize(("headers", "by_token", "refused"), ORIGIN_CASES)
def test_a_form_must_come_from_this_site(headers: dict[str, str], by_token: bool, refused: str | None) -> None:
    scope = {"scheme": "http"}
    if refused is None:
        check_origin(scope, headers, "https://ci.acme.example.com", by_token=by_token)
        return
    with pytest.raises(Refusal, match=refused) as info:
        check_origin(scope, headers, "https://ci.acme.example.com", by_token=by_token)
    assert info.value.status == 403


def test_the_csrf_token_must_be_the_sessions() -> None:
    check_token("token-of-the-session", "token-of-the-session")
    for given_token in (None, "", "token-of-the-sessioN", "token-of-the-session-and-more"):
        with pytest.raises(Refusal, match="CSRF token is missing or wrong"):
            check_token("token-of-the-session", given_token)
    with pytest.raises(Refusal, match="no session"):
        check_token(None, "anything")


@pytest.mark.parametrize(
    ("target", "lands"),
    [
        ("/approvals", "/approvals"),
        ("/trace/user-service?env=uat", "/trace/user-service?env=uat"),
        ("//evil.example.com", "/board"),
        ("/\\evil.example.com", "/board"),
        ("https://evil.example.com", "/board"),
        ("javascript:alert(1)", "/board"),
        ("/board\r\nSet-Cookie: x", "/board"),
        ("", "/board"),
        (None, "/board"),
    ],
)
def test_signing_in_leads_only_to_a_page_of_this_site(target: str | None, lands: str) -> None:
    assert safe_next(target) == lands


def test_the_tokens_file_is_read_again_when_it_changes_and_a_broken_one_signs_nobody_in(tmp_path: Path) -> None:
    platform = parse_spec(PEOPLE)
    alice, other = new_token(), new_token()
    path = tmp_path / "tokens"
    people = People(platform, path)
    assert people.enabled and people.person(alice) is None  # no file yet: nobody
    path.write_text(f"alice: {token_hash(alice)}\n")
    found = people.person(alice)
    assert found == ("alice", token_fingerprint(alice))
    assert people.holds("alice", token_fingerprint(alice)) and not people.holds("alice", token_fingerprint(other))
    path.write_text(f"alice: {token_hash(other)}\n# revoked the first one\n")
    assert people.person(alice) is None and not people.holds("alice", token_fingerprint(alice))
    path.write_text(f"{other}\n")  # a token pasted by mistake: the file is refused, nobody signs in
    assert people.person(other) is None
    path.write_text(f"bob: {token_hash(other)}\n")  # bob is not a person of the spec
    assert people.person(other) is None
    assert not People(None, path).enabled and not People(platform, None).enabled
