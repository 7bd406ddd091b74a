"""Parsers of the OCI client: references, WWW-Authenticate challenges, Link headers, URL policy."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipyard.errors import ShipyardError
from shipyard.httpcalls import is_loopback, next_link
from shipyard.registry.auth import parse_challenges
from shipyard.registry.client import base_url
from shipyard.registry.reference import parse_reference

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("text", "host", "repository", "tag", "digest"),
    [
        ("harbor.acme.io/services/user-service:v1.2.0", "harbor.acme.io", "services/user-service", "v1.2.0", None),
        ("127.0.0.1:5000/services/api", "127.0.0.1:5000", "services/api", None, None),
        (f"localhost:5000/a/b:pr-1-abc1234@{DIGEST}", "localhost:5000", "a/b", "pr-1-abc1234", DIGEST),
        (f"localhost/base-images/node@{DIGEST}", "localhost", "base-images/node", None, DIGEST),
    ],
)
def test_references(text: str, host: str, repository: str, tag: str | None, digest: str | None) -> None:
    ref = parse_reference(text)
    assert (ref.host, ref.repository, ref.tag, ref.digest) == (host, repository, tag, digest)
    assert str(ref) == text


@pytest.mark.parametrize(
    "text", ["user-service:v1", "host/Upper/case", "host/repo:bad tag", "host/repo@sha256:abc", "/repo", "host/"]
)
def test_bad_references_say_what_is_valid(text: str) -> None:
    with pytest.raises(ShipyardError):
        parse_reference(text)


_component = st.from_regex(r"[a-z0-9]{1,8}(-[a-z0-9]{1,5})?", fullmatch=True)


@given(
    host=st.from_regex(r"[a-z]{1,8}(\.[a-z]{2,5})?(:[0-9]{2,5})?", fullmatch=True),
    parts=st.lists(_component, min_size=1, max_size=3),
    tag=st.none() | st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True),
)
def test_reference_round_trip(host: str, parts: list[str], tag: str | None) -> None:
    text = f"{host}/{'/'.join(parts)}" + (f":{tag}" if tag else "")
    ref = parse_reference(text)
    assert str(ref) == text
    assert ref.repository == "/".join(parts)


def test_challenge_with_quoted_commas() -> None:
    header = 'Bearer realm="https://h/service/token",service="harbor-registry",scope="repository:a/b:pull,push"'
    (challenge,) = parse_challenges(header)
    assert challenge.scheme == "bearer"
    assert challenge.params == {
        "realm": "https://h/service/token",
        "service": "harbor-registry",
        "scope": "repository:a/b:pull,push",
    }


def test_several_challenges_and_escapes() -> None:
    header = 'Basic realm="a, \\"b\\"", Bearer realm="https://t",error=insufficient_scope'
    basic, bearer = parse_challenges(header)
    assert basic.params == {"realm": 'a, "b"'}
    assert (bearer.scheme, bearer.params) == ("bearer", {"realm": "https://t", "error": "insufficient_scope"})


_value = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30)


@given(params=st.dictionaries(st.sampled_from(["realm", "service", "scope", "error"]), _value, min_size=1))
def test_challenge_round_trip(params: dict[str, str]) -> None:
    def quote(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    header = "Bearer " + ", ".join(f"{k}={quote(v)}" for k, v in params.items())
    (challenge,) = parse_challenges(header)
    assert challenge.params == params


def test_next_link() -> None:
    current = "http://r:5000/v2/a/tags/list?n=2"
    assert next_link('</v2/a/tags/list?last=b&n=2>; rel="next"', current) == "http://r:5000/v2/a/tags/list?last=b&n=2"
    assert next_link(None, current) is None
    assert next_link('</x>; rel="prev"', current) is None


def test_plain_http_only_for_loopback_or_insecure() -> None:
    assert is_loopback("127.0.0.1:5000") and is_loopback("localhost") and is_loopback("[::1]:5000")
    assert base_url("127.0.0.1:5000") == "http://127.0.0.1:5000"
    assert base_url("harbor.acme.io") == "https://harbor.acme.io"
    assert base_url("10.0.0.5:5000", insecure=True) == "http://10.0.0.5:5000"
    with pytest.raises(ShipyardError, match="plain HTTP"):
        base_url("http://harbor.acme.io")
