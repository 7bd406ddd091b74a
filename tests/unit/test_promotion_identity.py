"""Knowing people for serve without a server: token hashes (file format, bounds, constant-time checks),
bearer headers, and OIDC claims mapped to people of the spec."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipyard.promotion.oidc import oidc_config, person_for_claims
from shipyard.promotion.tokens import (
    MAX_FILE_BYTES,
    NotAuthenticated,
    TokenFileError,
    TokenStore,
    authenticate,
    bearer,
    new_token,
    token_hash,
)
from shipyard.spec.model import Platform

ISSUER = "https://login.acme.example.com"


def platform(**extra: Any) -> Platform:
    return Platform.model_validate(
        {
            "org": "acme",
            "domain": "acme.example.com",
            "registry": {"kind": "local", "url": "registry"},
            "people": {
                "alice": {"emails": ["alice@acme.example.com"], "oidcSubject": "sub-alice"},
                "bob": {"emails": ["bob@acme.example.com"]},
            },
            **extra,
        }
    )


def store_of(tmp_path: Path, text: str) -> TokenStore:
    path = tmp_path / "tokens"
    path.write_text(text)
    return TokenStore.load(path)


def test_a_token_is_known_by_its_hash_only(tmp_path: Path) -> None:
    alice, bob, other = new_token(), new_token(), new_token()
    assert alice != bob and len(alice) == 47 and alice.startswith("shy_")
    store = store_of(
        tmp_path,
        f"# comment\n\nalice: {token_hash(alice)}\nbob: {token_hash(bob)}\nalice: {token_hash(other)}\n",
    )
    assert alice not in (tmp_path / "tokens").read_text()
    assert (store.verify(alice), store.verify(bob), store.verify(other)) == ("alice", "bob", "alice")
    assert store.verify(new_token()) is None and store.verify("") is None and store.verify(alice + "x") is None
    assert store.holders() == {"alice": 2, "bob": 1}
    assert authenticate(platform(), store, bob) == "bob"
    with pytest.raises(NotAuthenticated):
        authenticate(platform(), store, None)
    # A token whose holder left people no longer works.
    with pytest.raises(NotAuthenticated, match="unknown or revoked token"):
        authenticate(platform(people={"alice": {"emails": ["alice@acme.example.com"]}}), store, bob)


def test_a_missing_file_holds_no_tokens_and_a_bad_one_is_refused_without_quoting_it(tmp_path: Path) -> None:
    assert TokenStore.load(tmp_path / "absent").entries == ()
    secret = new_token()
    for text, where in (
        (f"alice: {token_hash(secret)}\n{secret}\n", ":2:"),
        (f"alice {token_hash(secret)}\n", ":1:"),
        ("bad id: sha256:" + "a" * 64 + "\n", ":1:"),
        ("alice: sha256:" + "A" * 64 + "\n", ":1:"),
    ):
        with pytest.raises(TokenFileError) as info:
            store_of(tmp_path, text)
        assert where in str(info.value) and secret not in str(info.value) and "sha256:a" not in str(info.value)
    (tmp_path / "big").write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(TokenFileError, match="larger than"):
        TokenStore.load(tmp_path / "big")
    (tmp_path / "binary").write_bytes(b"\xff\xfe")
    with pytest.raises(TokenFileError, match="not UTF-8"):
        TokenStore.load(tmp_path / "binary")


def test_bearer_headers() -> None:
    token = new_token()
    assert bearer(f"Bearer {token}") == token and bearer(f"bearer  {token} ") == token
    for header in (None, "", token, f"Basic {token}", f"Bearer {token}x", "Bearer " + "a" * 5000, "Bearer"):
        assert bearer(header) is None


@given(st.text(max_size=100))
def test_no_text_but_a_stored_token_authenticates(text: str) -> None:
    store = TokenStore(Path("tokens"), (("alice", bytes.fromhex(token_hash(new_token())[7:])),))
    assert store.verify(text) is None


OIDC = {"issuer": ISSUER, "clientId": "shipyard", "clientSecret": "shipyard-oidc"}


def test_oidc_settings_are_data_without_secrets() -> None:
    assert oidc_config(platform()) is None
    config = oidc_config(platform(identity={"oidc": {**OIDC, "requiredGroups": ["eng"]}}))
    assert config is not None and config.to_json() == {
        "issuer": ISSUER,
        "clientId": "shipyard",
        "clientSecretRef": {"name": "shipyard-oidc", "key": "clientSecret"},
        "scopes": ["openid", "email", "profile"],
        "emailClaim": "email",
        "groupsClaim": "groups",
        "requiredGroups": ["eng"],
    }


def test_verified_claims_name_a_person() -> None:
    spec = platform(identity={"oidc": OIDC})
    assert person_for_claims(spec, {"iss": ISSUER, "sub": "sub-alice"}) == "alice"
    assert (
        person_for_claims(spec, {"iss": ISSUER, "sub": "x", "email": "BOB@acme.example.com", "email_verified": True})
        == "bob"
    )
    refused: list[dict[str, object]] = [
        {"iss": "https://other.example.com", "sub": "sub-alice"},
        {"iss": ISSUER, "sub": "x", "email": "bob@acme.example.com"},  # not verified
        {"iss": ISSUER, "sub": "x", "email": "bob@acme.example.com", "email_verified": "true"},
        # alice has a subject: her email alone does not log her in.
        {"iss": ISSUER, "sub": "x", "email": "alice@acme.example.com", "email_verified": True},
        {"iss": ISSUER, "sub": "x", "email": "eve@acme.example.com", "email_verified": True},
    ]
    for claims in refused:
        with pytest.raises(NotAuthenticated):
            person_for_claims(spec, claims)
    with pytest.raises(NotAuthenticated, match=r"no identity\.oidc"):
        person_for_claims(platform(), {"iss": ISSUER, "sub": "sub-alice"})


def test_required_groups_narrow_who_logs_in() -> None:
    spec = platform(identity={"oidc": {**OIDC, "requiredGroups": ["eng"], "groupsClaim": "roles"}})
    assert person_for_claims(spec, {"iss": ISSUER, "sub": "sub-alice", "roles": ["ops", "eng"]}) == "alice"
    for roles in (["ops"], "eng", None, ["eng"] * 1001):
        with pytest.raises(NotAuthenticated):
            person_for_claims(spec, {"iss": ISSUER, "sub": "sub-alice", "roles": roles})
