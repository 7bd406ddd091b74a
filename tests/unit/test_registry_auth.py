"""Edge cases of the OCI client's auth, retries and error messages, driven through httpx's
MockTransport seam (basic-auth challenges, 403 bodies, exact retry counts) that a real registry does
not produce on demand. Token auth end to end, retries through real faults and everything else run
against the real docker-registry in tests/integration/test_registry_oci.py.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import pytest

from shipyard.registry import NotFound, RegistryError, RemoteRegistry
from shipyard.registry.auth import Credentials, find_credentials
from shipyard.retry import Policy

MANIFEST = b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}'
RETRY = Policy(attempts=4, base=0, cap=0, max_wait=1, max_total=1)


def _registry(handler: httpx.MockTransport, credentials: Credentials | None = None) -> RemoteRegistry:
    return RemoteRegistry(
        "registry.example.com", transport=handler, credentials=credentials, retry=RETRY, sleep=lambda _s: None
    )


def test_bearer_token_from_challenge_with_quoted_scope() -> None:
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url}")
        if request.url.host == "auth.example.com":
            assert request.headers["authorization"] == "Basic " + base64.b64encode(b"ci:s3cret").decode()
            assert request.url.params["scope"] == "repository:services/api:pull,push"
            assert request.url.params["service"] == "registry"
            return httpx.Response(200, json={"token": "T0K"})
        if request.headers.get("authorization") != "Bearer T0K":
            challenge = (
                'Bearer realm="https://auth.example.com/token",service="registry",'
                'scope="repository:services/api:pull,push"'
            )
            return httpx.Response(401, headers={"WWW-Authenticate": challenge})
        return httpx.Response(200, json={"name": "services/api", "tags": ["v1", "v2"]})

    registry = _registry(httpx.MockTransport(handle), Credentials("ci", "s3cret"))
    assert registry.list_tags("services/api") == ["v1", "v2"]
    assert registry.list_tags("services/api") == ["v1", "v2"]  # the token is reused
    assert sum("auth.example.com" in s for s in seen) == 1


def test_basic_auth_and_clear_401() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") == Credentials("u", "p").basic_header():
            return httpx.Response(200, content=MANIFEST, headers={"Content-Type": json.loads(MANIFEST)["mediaType"]})
        return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="Registry Realm"'})

    good = _registry(httpx.MockTransport(handle), Credentials("u", "p"))
    assert good.get_manifest("a/b", "v1").data == MANIFEST
    bad = _registry(httpx.MockTransport(handle), Credentials("u", "wrong"))
    with pytest.raises(RegistryError, match=r"not authorized .* \(401\)") as info:
        bad.get_manifest("a/b", "v1")
    assert "SHIPYARD_REGISTRY_USERNAME" in str(info.value)


def test_403_and_404_name_the_cause() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            return httpx.Response(403, json={"errors": [{"code": "DENIED", "message": "no push"}]})
        return httpx.Response(404, json={"errors": [{"code": "MANIFEST_UNKNOWN", "message": "unknown"}]})

    registry = _registry(httpx.MockTransport(handle))
    with pytest.raises(NotFound, match="MANIFEST_UNKNOWN"):
        registry.get_manifest("a/b", "v9")
    from shipyard.registry.store import Manifest

    with pytest.raises(RegistryError, match=r"access denied .* \(403\).*DENIED"):
        registry.put_manifest("a/b", "v1", Manifest.from_bytes(MANIFEST))


def test_retries_429_and_5xx_then_gives_up() -> None:
    calls: list[int] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) < 3:
            return httpx.Response(503 if len(calls) == 1 else 429, headers={"Retry-After": "0"})
        return httpx.Response(200, json={"tags": ["x"]})

    assert _registry(httpx.MockTransport(flaky)).list_tags("a/b") == ["x"]
    assert len(calls) == 3

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    with pytest.raises(RegistryError, match="failed after 4 attempts"):
        _registry(httpx.MockTransport(down)).list_tags("a/b")


def test_digest_mismatch_is_refused() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=MANIFEST, headers={"Docker-Content-Digest": "sha256:" + "0" * 64})

    with pytest.raises(RegistryError, match="refusing"):
        _registry(httpx.MockTransport(handle)).get_manifest("a/b", "v1")


def test_credentials_from_the_auth_file_only(tmp_path: Path) -> None:
    # Explicit credentials come from the CLI's options (which read SHIPYARD_REGISTRY_*), not from here.
    only_env = {"SHIPYARD_REGISTRY_USERNAME": "a", "SHIPYARD_REGISTRY_PASSWORD": "b", "REGISTRY_AUTH_FILE": "/none"}
    assert find_credentials("h", only_env) != Credentials("a", "b")
    auth = tmp_path / "auth.json"
    auth.write_text(json.dumps({"auths": {"h:5000": {"auth": base64.b64encode(b"robot$ci:tok").decode()}}}))
    assert find_credentials("h:5000", {"REGISTRY_AUTH_FILE": str(auth)}) == Credentials("robot$ci", "tok")
    assert find_credentials("other", {"REGISTRY_AUTH_FILE": str(auth)}) is None
