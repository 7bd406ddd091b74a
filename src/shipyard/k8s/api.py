"""A small client of the Kubernetes API on httpx: the few calls Shipyard makes, as the API's own JSON.

Shipyard lists namespaces, deletes one with preconditions, creates a Secret, and reads and patches Argo CD
Applications (and the sandbox's workloads): plain REST calls that need no generated models. Requests are
retried under ``shipyard.retry.HTTP`` (a POST or PATCH only when the API server cannot have acted on it),
lists are read in pages joined by ``continue`` tokens and stop with an error on a token that repeats or
after ``shipyard.httpcalls.MAX_PAGES`` pages. ``transport`` is the seam
for tests, as in the other clients.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from shipyard.bounded import InputError, parse_json
from shipyard.errors import ShipyardError
from shipyard.httpcalls import Pages, PagingError, client, send
from shipyard.k8s.kubeconfig import Connection
from shipyard.retry import HTTP, GaveUp, Policy, Retrier

PAGE_SIZE = 500


class KubeError(ShipyardError):
    """A call to the Kubernetes API that could not be made or that the API server refused."""

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class KubeApi:
    """The API server of ``connection``."""

    def __init__(
        self,
        connection: Connection,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: Policy = HTTP,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 60.0,
    ) -> None:
        self.connection = connection
        self._http = client(
            base_url=connection.server,
            headers={"Accept": "application/json", **connection.headers},
            verify=connection.tls if connection.tls is not None else True,
            timeout=timeout,
            transport=transport,
        )
        self._extensions = {"sni_hostname": connection.tls_server_name} if connection.tls_server_name else None
        self._retrier = Retrier(retry, sleep=sleep)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> KubeApi:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str | int] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> httpx.Response:
        """One call, retried when that is safe; the answer whatever its status. KubeError when none came.
        A PATCH names its kind in ``content_type`` (``application/merge-patch+json``)."""
        content = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": content_type} if content is not None else {}

        def attempt() -> httpx.Response:
            return self._http.request(
                method, path, params=params, content=content, headers=headers, extensions=self._extensions
            )

        what = f"{method} {path}"
        try:
            return send(self._retrier, method, attempt)
        except GaveUp as exc:
            if isinstance(exc.result, httpx.Response):
                raise self.refusal(what, exc.result, exc.message) from None
            raise KubeError(f"Kubernetes API at {self.connection.server}: {what} {exc.message}") from None
        except httpx.TransportError as exc:
            raise KubeError(
                f"Kubernetes API at {self.connection.server}: {what} was cut off after it was sent "
                f"({type(exc).__name__}); not sent again"
            ) from None

    def list_items(
        self, path: str, what: str, page_size: int = PAGE_SIZE, *, selector: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every item of a list (of the objects ``selector`` labels select), page by page (``limit`` and
        ``continue``); a KubeError ends it, never a guess."""
        pages = Pages(f"Kubernetes API: {what}")
        base: dict[str, str | int] = {"labelSelector": selector} if selector else {}
        params: dict[str, str | int] = {**base, "limit": page_size}
        while True:
            response = self.request("GET", path, params=params)
            if response.status_code != 200:
                raise self.refusal(f"{what}", response)
            page = _json(response)
            items = page.get("items") if isinstance(page, dict) else None
            if not isinstance(items, list):
                raise KubeError(f"Kubernetes API: {what}: the answer is not a list (no items)")
            yield from (item for item in items if isinstance(item, dict))
            metadata = page.get("metadata") if isinstance(page, dict) else None
            token = metadata.get("continue") if isinstance(metadata, dict) else None
            if not isinstance(token, str) or not token:
                return
            try:
                params = {**base, "limit": page_size, "continue": pages.follow(token)}
            except PagingError as exc:
                raise KubeError(exc.message, hint=exc.hint) from None

    @staticmethod
    def refusal(what: str, response: httpx.Response, retried: str | None = None) -> KubeError:
        """The error for an answer outside 2xx, with the API server's Status message."""
        status = _json(response)
        reason = status.get("reason") if isinstance(status, dict) else None
        message = status.get("message") if isinstance(status, dict) else None
        text = f"Kubernetes API: {what} failed: HTTP {response.status_code}"
        text += f" {reason}" if isinstance(reason, str) and reason else ""
        text += f" ({message})" if isinstance(message, str) and message else ""
        text += f"; {retried}" if retried else ""
        hint = None
        if response.status_code in (401, 403):
            hint = "the credentials were refused or lack the permission (RBAC) for this call"
        return KubeError(text, status=response.status_code, hint=hint)


def _json(response: httpx.Response) -> Any:
    """The answer's JSON within ``shipyard.bounded``'s depth limit (the client's transport bounds its size:
    a page larger than 16 MiB is not a list of 500 items); None when it is not JSON."""
    try:
        return parse_json(response.content, "the Kubernetes API's answer")
    except InputError:
        return None
