"""The npm registry client retries rate limits and outages, against a real HTTP server on loopback.

Verdaccio (tests/integration/test_packages_verdaccio.py) never answers 429 or 503 on its own, so this
server plays a registry under load: it answers the queued refusals first, then the packument.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import ClassVar

import pytest

from shipyard.errors import ShipyardError
from shipyard.packages.npm_registry import NpmRegistry
from tests.localhttp import serve, stop

pytestmark = pytest.mark.integration

PACKUMENT = {"name": "@acme/utils", "dist-tags": {"latest": "1.0.0"}, "versions": {"1.0.0": {}}}


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


class BusyRegistry(BaseHTTPRequestHandler):
    refusals: ClassVar[list[tuple[int, dict[str, str]]]] = []
    paths: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).paths.append(self.path)
        status, headers = self.refusals.pop(0) if self.refusals else (200, {})
        body = json.dumps(PACKUMENT if status == 200 else {"error": "busy"}).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", "Content-Length": str(len(body)), **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def busy() -> Iterator[tuple[str, type[BusyRegistry]]]:
    handler = type("Handler", (BusyRegistry,), {"refusals": [], "paths": []})
    server = serve(handler)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", handler
    finally:
        stop(server)


def test_429_and_503_are_retried_then_the_packument_is_read(busy: tuple[str, type[BusyRegistry]]) -> None:
    url, handler = busy
    handler.refusals += [(429, {"Retry-After": "3"}), (503, {}), (504, {"Retry-After": "garbage"})]
    sleeps = Sleeps()
    registry = NpmRegistry(url, sleep=sleeps)
    assert registry.packument("@acme/utils") == PACKUMENT
    registry.close()
    assert handler.paths == ["/@acme%2Futils"] * 4
    assert sleeps[0] == 3.0 and len(sleeps) == 3 and all(s <= 5.0 for s in sleeps[1:])


def test_an_outage_that_lasts_ends_with_a_clear_error(busy: tuple[str, type[BusyRegistry]]) -> None:
    url, handler = busy
    handler.refusals += [(503, {})] * 10
    registry = NpmRegistry(url, sleep=Sleeps())
    with pytest.raises(ShipyardError, match=r"GET @acme/utils failed after 6 attempts \(HTTP 503\)"):
        registry.packument("@acme/utils")
    registry.close()
    assert len(handler.paths) == 6


def test_an_hours_long_retry_after_is_not_waited(busy: tuple[str, type[BusyRegistry]]) -> None:
    url, handler = busy
    handler.refusals += [(429, {"Retry-After": "100000"})]
    sleeps = Sleeps()
    registry = NpmRegistry(url, sleep=sleeps)
    with pytest.raises(ShipyardError, match="asked to wait 1d3h46m40s, longer than the 1m one wait may last"):
        registry.packument("@acme/utils")
    registry.close()
    assert sleeps == [] and len(handler.paths) == 1
