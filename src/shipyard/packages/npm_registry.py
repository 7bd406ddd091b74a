"""Reading an npm registry (Verdaccio): a package's published versions and dist-tags, retried under
``shipyard.retry.HTTP`` (429, 502, 503, 504 and dropped connections)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from shipyard.errors import ShipyardError
from shipyard.httpcalls import client, send
from shipyard.retry import HTTP, GaveUp, Policy, Retrier


def npm_token(value: str | None) -> str | None:
    """The registry token given (the CLI reads ``SHIPYARD_NPM_TOKEN`` or ``NPM_TOKEN``), checked by
    ``shipyard.secretfile``; None when none is given."""
    from shipyard.secretfile import check_secret

    return check_secret(value, "the npm token (--token, SHIPYARD_NPM_TOKEN or NPM_TOKEN)") if value else None


class NpmRegistry:
    """An npm registry's read API, authenticated with a bearer token when one is given."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        transport: httpx.BaseTransport | None = None,
        *,
        retry: Policy = HTTP,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url.rstrip("/") + "/"
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = client(headers=headers, timeout=30.0, transport=transport)
        self._retrier = Retrier(retry, sleep=sleep)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def packument(self, name: str) -> dict[str, Any] | None:
        """The package document (``versions``, ``dist-tags``), or None when nothing is published."""
        url = self.url + quote(name, safe="@")
        try:
            reply = send(self._retrier, "GET", lambda: self._http.get(url))
        except GaveUp as exc:
            raise ShipyardError(f"npm registry {self.url}: GET {name} {exc.message}") from exc
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
