"""A small GitHub REST client on httpx: token auth, JSON in and out, pagination by ``Link``, and retries
under ``shipyard.retry.GITHUB`` that honour GitHub's rate limits (``Retry-After``, then
``x-ratelimit-reset``), every wait bounded.

The token is only ever placed in the Authorization header: never in a message, an exception or a repr,
and never sent over plain HTTP beyond loopback, nor to another host (httpx drops it on a redirect away
from the API's origin, and a ``Link`` to another origin is refused).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from shipyard import __version__
from shipyard.errors import ShipyardError
from shipyard.httpcalls import Pages, PagingError, client, is_loopback, send
from shipyard.retry import GITHUB, GaveUp, Policy, Retrier, parse_retry_after

DEFAULT_API = "https://api.github.com"
API_VERSION = "2022-11-28"
_EPOCH_SECONDS = re.compile(r"[0-9]{1,15}")
# GitHub asks for at least a minute between retries of a secondary rate limit that names no wait.
_SECONDARY_WAIT = 60.0


class GitHubError(ShipyardError):
    """A request GitHub refused, or that could not be made; names the request, never the token."""

    exit_code = 2

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


def load_token(token_file: Path | None = None, token: str | None = None) -> str:
    """The token from ``token_file``, else ``token`` (the CLI reads it from ``GITHUB_TOKEN`` / ``GH_TOKEN``),
    each read and checked by ``shipyard.secretfile``; a clear error when there is none."""
    from shipyard.secretfile import SecretError, check_secret, read_secret

    try:
        if token_file is not None:
            return read_secret(token_file, "the GitHub token")
        if token and token.strip():
            return check_secret(token, "the GitHub token")
    except SecretError as exc:
        raise GitHubError(exc.message, hint=exc.hint) from None
    raise GitHubError("no GitHub token", hint="set GITHUB_TOKEN or pass --token-file FILE")


@dataclass(frozen=True)
class Response:
    """Status, headers (lower-case names), the decoded JSON body (None when empty) and the URL answered."""

    status: int
    headers: dict[str, str]
    data: Any
    url: str = ""


@dataclass
class GitHubClient:
    """Calls GitHub's REST API. ``sleep``, ``clock`` and ``transport`` are seams so tests need not wait."""

    token: str = field(repr=False)
    api_url: str = DEFAULT_API
    retry: Policy = GITHUB
    timeout: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    clock: Callable[[], float] = field(default=time.time, repr=False)
    transport: httpx.BaseTransport | None = field(default=None, repr=False)
    _http: httpx.Client = field(init=False, repr=False)
    _retrier: Retrier = field(init=False, repr=False)

    def __post_init__(self) -> None:
        headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {self.token}",
            "User-Agent": f"shipyard/{__version__}",
            "X-GitHub-Api-Version": API_VERSION,
        }
        # GitHub redirects renamed repositories; httpx drops the Authorization header when a redirect
        # leaves the origin.
        self._http = client(headers=headers, timeout=self.timeout, follow_redirects=True, transport=self.transport)
        self._retrier = Retrier(self.retry, sleep=self.sleep, clock=self.clock)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def request(self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None) -> Response:
        """One API call, retried on rate limits and transient errors; raises GitHubError on a refusal."""
        url = path if path.startswith("http") else self.api_url.rstrip("/") + path
        parts = urlsplit(url)
        what = f"{method} {parts.path}"
        if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback(parts.netloc)):
            # The token travels in a header: never send it in clear text beyond this machine.
            raise GitHubError(
                f"{what}: refusing to send the token over {parts.scheme or 'no scheme'} to {parts.hostname}"
            )
        content = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if content is not None else {}

        def attempt() -> httpx.Response:
            return self._http.request(method, url, params=query, content=content, headers=headers)

        try:
            reply = send(self._retrier, method, attempt, rate_limited=self._rate_limited)
        except GaveUp as exc:
            if isinstance(exc.result, httpx.Response):
                raise self._refusal(what, exc.result.status_code, _decode(exc.result), exc.message) from None
            raise GitHubError(f"{what}: cannot reach {self.api_url} ({exc.message})") from None
        except httpx.TransportError as exc:
            raise GitHubError(
                f"{what}: the connection to {self.api_url} broke after the request was sent ({type(exc).__name__})",
                hint="check on GitHub whether it took effect, then run the command again",
            ) from None
        payload = _decode(reply)
        if not reply.is_success:
            raise self._refusal(what, reply.status_code, payload)
        return Response(reply.status_code, {k.lower(): v for k, v in reply.headers.items()}, payload, str(reply.url))

    def paginate(self, path: str, query: dict[str, str] | None = None) -> Iterator[Any]:
        """Every item of a list endpoint, following ``Link: rel="next"`` (at most ``MAX_PAGES`` pages)."""
        pages = Pages(f"GET {path}")
        reply = self.request("GET", path, query={"per_page": "100", **(query or {})})
        while True:
            if not isinstance(reply.data, list):
                raise GitHubError(f"GET {path}: expected a list from GitHub")
            yield from reply.data
            try:
                url = pages.next_url(reply.headers.get("link"), reply.url)
            except PagingError as exc:
                raise GitHubError(exc.message, hint=exc.hint) from None
            if url is None:
                return
            reply = self.request("GET", url)

    def _rate_limited(self, response: httpx.Response) -> float | None:
        """Seconds GitHub asks to wait when ``response`` is a rate limit (NaN: back off), else None."""
        status, headers = response.status_code, response.headers
        payload = _decode(response)
        message = str(payload.get("message", "")) if isinstance(payload, dict) else ""
        limited = status == 429 or (
            status == 403 and (headers.get("x-ratelimit-remaining") == "0" or "rate limit" in message.lower())
        )
        if not limited:
            return None
        now = self.clock()
        asked = parse_retry_after(headers.get("retry-after"), now)
        if asked is not None:
            return asked
        reset = headers.get("x-ratelimit-reset", "").strip()
        if _EPOCH_SECONDS.fullmatch(reset):
            return max(int(reset) - now, 0.0) + 1.0
        return _SECONDARY_WAIT

    def _refusal(self, what: str, status: int, payload: Any, retried: str | None = None) -> GitHubError:
        message = payload.get("message") if isinstance(payload, dict) else None
        hints = {
            401: "the token is missing, expired or revoked",
            403: "the token lacks a permission (pull requests: write, issues: write) or a rate limit held",
            404: "the repository or pull request does not exist, or the token cannot see it",
            422: "GitHub rejected the request's content",
        }
        text = f"{what}: GitHub answered {status}" + (f" ({message})" if message else "")
        if retried:
            text += f"; {retried}"
        return GitHubError(text, status=status, hint=hints.get(status))


def _decode(response: httpx.Response) -> Any:
    """The answer's JSON within ``shipyard.bounded``'s depth limit (the client's transport bounds its size)."""
    from shipyard.bounded import InputError, parse_json

    if not response.content:
        return None
    try:
        return parse_json(response.content, "GitHub's answer")
    except InputError:
        return None
