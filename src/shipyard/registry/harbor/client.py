"""A small client of Harbor's API v2.0 (the parts Shipyard configures and reads).

Every request is one of the operations of Harbor's own API description; names in paths are sent with
``X-Is-Resource-Name: true`` so a numeric project name is never taken for an id. Calls are retried under
``shipyard.retry.HTTP`` (429, 502, 503, 504, dropped connections; a POST only when Harbor cannot have
acted on it), and paged lists stop after ``shipyard.httpcalls.MAX_PAGES`` pages.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from shipyard.errors import ShipyardError
from shipyard.httpcalls import Pages, PagingError, client, send
from shipyard.retry import HTTP, GaveUp, Policy, Retrier

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class HarborError(ShipyardError):
    """Harbor refused or failed a request."""


class HarborClient:
    """Harbor's API at ``url`` (``https://harbor.example.com``), authenticated with basic auth."""

    def __init__(
        self,
        url: str,
        credentials: tuple[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        *,
        retry: Policy = HTTP,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        base = url.rstrip("/")
        if "://" not in base:
            base = "https://" + base
        self.api = base + "/api/v2.0"
        self._http = client(auth=credentials, timeout=30.0, transport=transport)
        self._retrier = Retrier(retry, sleep=sleep)
        self.requests: list[tuple[str, str]] = []  # (method, path) sent, for --dry-run checks and tests

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str | int] | None = None,
        body: Any = None,
        allow: tuple[int, ...] = (),
    ) -> httpx.Response:
        """One API call, retried when that is safe; a status outside 2xx (and ``allow``) raises a HarborError
        naming the call."""
        headers = {"X-Is-Resource-Name": "true"} if path.startswith("/projects/") else {}
        self.requests.append((method, path))
        try:
            response = send(
                self._retrier,
                method,
                lambda: self._http.request(method, self.api + path, params=params, json=body, headers=headers),
            )
        except GaveUp as exc:
            if exc.result is None:  # no answer at all, only failed connections
                raise HarborError(f"Harbor at {self.api} is unreachable: {method} {path} {exc.message}") from exc
            raise HarborError(f"Harbor: {method} {path} {exc.message}") from exc
        except httpx.TransportError as exc:
            raise HarborError(
                f"Harbor at {self.api}: {method} {path} was cut off after it was sent ({exc!r}); not sent again",
                hint="check in Harbor whether it took effect, then run the command again",
            ) from exc
        if response.is_success or response.status_code in allow:
            return response
        detail = ""
        try:
            errors = response.json().get("errors") or []
            detail = "; ".join(str(e.get("message")) for e in errors if isinstance(e, dict))
        except (ValueError, AttributeError):
            pass
        hint = None
        if response.status_code in (401, 403):
            hint = "set SHIPYARD_HARBOR_USERNAME / SHIPYARD_HARBOR_PASSWORD to an account allowed to do this"
        raise HarborError(
            f"Harbor: {method} {path} answered {response.status_code}" + (f": {detail}" if detail else ""), hint=hint
        )

    def get_json(self, path: str, params: dict[str, str | int] | None = None, allow: tuple[int, ...] = ()) -> Any:
        """GET and decode JSON; None for an allowed non-2xx status."""
        response = self.call("GET", path, params=params, allow=allow)
        if not response.is_success:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise HarborError(f"Harbor: GET {path} did not answer JSON") from exc

    def list_all(self, path: str, params: dict[str, str | int] | None = None) -> list[Any]:
        """Every item of a paged list (page_size 100, the API's maximum), at most ``MAX_PAGES`` pages."""
        items: list[Any] = []
        page = 1
        pages = Pages(f"Harbor: GET {path}")
        while True:
            batch = self.get_json(path, {**(params or {}), "page": page, "page_size": 100})
            if not isinstance(batch, list):
                raise HarborError(f"Harbor: GET {path} did not answer a list")
            items.extend(batch)
            if len(batch) < 100:
                return items
            page += 1
            try:
                pages.follow(str(page))
            except PagingError as exc:
                raise HarborError(exc.message, hint=exc.hint) from exc


def repository_path(project: str, repository: str) -> str:
    """``/projects/<p>/repositories/<r>``; a repository name with '/' is encoded twice, as Harbor expects."""
    return f"/projects/{quote(project, safe='')}/repositories/{quote(quote(repository, safe=''), safe='')}"
