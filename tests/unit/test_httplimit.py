"""HTTP answers are read within a size limit, compressed ones too (httpx's MockTransport: no server needed)."""

from __future__ import annotations

import gzip
import zlib

import httpx
import pytest

from shipyard.bounded import InputError, TooLarge
from shipyard.httplimit import bounded

LIMIT = 64 * 1024


def answer(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if path == "/declared":  # says how big it is: refused before a byte is read
        return httpx.Response(200, content=b"x" * (LIMIT + 1))
    if path == "/chunked":  # does not say: refused as it passes the limit
        return httpx.Response(200, content=iter([b"x" * 4096] * 1000))
    if path == "/gzip-bomb":
        return httpx.Response(200, content=gzip.compress(b"\0" * (50 * LIMIT)), headers={"content-encoding": "gzip"})
    if path == "/deflate":
        return httpx.Response(200, content=zlib.compress(b'{"ok": true}'), headers={"content-encoding": "deflate"})
    if path == "/brotli":
        return httpx.Response(200, content=b"??", headers={"content-encoding": "br"})
    return httpx.Response(200, json={"accept-encoding": request.headers.get("accept-encoding")})


@pytest.fixture
def client() -> httpx.Client:
    return httpx.Client(transport=bounded(httpx.MockTransport(answer), LIMIT))


@pytest.mark.parametrize("path", ["/declared", "/chunked", "/gzip-bomb"])
def test_a_body_over_the_limit_is_refused(client: httpx.Client, path: str) -> None:
    with pytest.raises(TooLarge, match="larger than 64 KiB"):
        client.get(f"http://registry.example.com{path}")


def test_bodies_within_the_limit_read_as_they_are(client: httpx.Client) -> None:
    assert client.get("http://r.example.com/deflate").json() == {"ok": True}
    assert client.get("http://r.example.com/plain").json() == {"accept-encoding": "identity"}


def test_an_encoding_that_cannot_be_bounded_is_refused(client: httpx.Client) -> None:
    with pytest.raises(InputError, match="encoded as 'br'"):
        client.get("http://r.example.com/brotli")


def test_a_300_mb_manifest_never_reaches_memory() -> None:
    from shipyard.registry.client import RemoteRegistry

    def manifest(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=iter([b" " * (1 << 20)] * 300), headers={"content-type": "application/json"})

    registry = RemoteRegistry("registry.example.com", transport=httpx.MockTransport(manifest), credentials=None)
    with pytest.raises(TooLarge, match="larger than 16 MiB"):
        registry.get_manifest("services/api", "v1.0.0")


def test_every_http_client_is_built_with_the_limit() -> None:
    """Every answer from outside (registries, Harbor, npm, GitHub, the Kubernetes API, serve's forwarding) is
    read through ``httpcalls.client``, which wraps its transport in ``bounded``: no other module builds one.
    The demo's readiness probe is the exception: it asks a registry the demo started itself on 127.0.0.1 for
    its status and reads no body."""
    import re
    from pathlib import Path

    import shipyard

    root = Path(shipyard.__file__).parent
    building = re.compile(r"httpx\.(Client|AsyncClient|HTTPTransport|AsyncHTTPTransport)\(|urlopen\(|http\.client\b")
    others = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.name not in ("httpcalls.py", "httplimit.py")
        and path.relative_to(root).as_posix() != "demo/parts/registry.py"
        and building.search(path.read_text())
    ]
    assert others == []
