"""Reading an npm registry (Verdaccio): a package's published versions and dist-tags."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

import httpx

from shipyard.errors import ShipyardError
from shipyard.httplimit import bounded

TOKEN_VARIABLES = ("SHIPYARD_NPM_TOKEN", "NPM_TOKEN")


def npm_token(environ: dict[str, str] | None = None) -> str | None:
    """The registry token from ``SHIPYARD_NPM_TOKEN`` (or ``NPM_TOKEN``)."""
    from shipyard.secretfile import check_secret

    env = os.environ if environ is None else environ
    name = next((name for name in TOKEN_VARIABLES if env.get(name)), None)
    return None if name is None else check_secret(env[name], f"the npm token in {name}")


class NpmRegistry:
    """An npm registry's read API, authenticated with a bearer token when one is given."""

    def __init__(self, url: str, token: str | None = None, transport: httpx.BaseTransport | None = None) -> None:
        self.url = url.rstrip("/") + "/"
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(headers=headers, timeout=30.0, transport=bounded(transport))

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def packument(self, name: str) -> dict[str, Any] | None:
        """The package document (``versions``, ``dist-tags``), or None when nothing is published."""
        url = self.url + quote(name, safe="@")
        for attempt in range(4):
            try:
                reply = self._http.get(url)
            except httpx.TransportError as exc:
                if attempt == 3:
                    raise ShipyardError(f"npm registry {self.url} is unreachable: {exc!r}") from exc
                continue
            if reply.status_code < 500:
                break
        if reply.status_code == 404:
            return None
        if reply.status_code in (401, 403):
            raise ShipyardError(
                f"npm registry {self.url} refused to show {name} ({reply.status_code})",
                hint="set SHIPYARD_NPM_TOKEN to a token of a user allowed to read the scope",
            )
        if reply.status_code != 200:
            raise ShipyardError(f"npm registry {self.url}: GET {name} answered {reply.status_code}")
        try:
            data = reply.json()
        except ValueError as exc:
            raise ShipyardError(f"npm registry {self.url}: {name} is not JSON") from exc
        return data if isinstance(data, dict) else None
