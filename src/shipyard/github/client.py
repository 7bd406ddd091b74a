"""A small GitHub REST client on the standard library: token auth, JSON in and out, pagination by ``Link``,
and retries that honour GitHub's rate limits (``Retry-After``, then ``x-ratelimit-reset``).

The token is only ever placed in the Authorization header: never in a message, an exception or a repr.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from http.client import HTTPMessage
from pathlib import Path
from typing import Any

from shipyard import __version__
from shipyard.errors import ShipyardError

DEFAULT_API = "https://api.github.com"
API_VERSION = "2022-11-28"
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


class GitHubError(ShipyardError):
    """A request GitHub refused, or that could not be made; names the request, never the token."""

    exit_code = 2

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


def load_token(token_file: Path | None = None) -> str:
    """The token from ``token_file``, else ``GITHUB_TOKEN`` / ``GH_TOKEN``; a clear error when there is none."""
    from shipyard.secretfile import SecretError, check_secret, read_secret

    try:
        if token_file is not None:
            return read_secret(token_file, "the GitHub token")
        for name in ("GITHUB_TOKEN", "GH_TOKEN"):
            if os.environ.get(name, "").strip():
                return check_secret(os.environ[name], f"the GitHub token in {name}")
    except SecretError as exc:
        raise GitHubError(exc.message, hint=exc.hint) from None
    raise GitHubError("no GitHub token", hint="set GITHUB_TOKEN or pass --token-file FILE")


class _SameHostRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects (GitHub redirects renamed repositories) but drops the token when the host changes."""

    def redirect_request(
        self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: HTTPMessage, newurl: str
    ) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urllib.parse.urlsplit(newurl).netloc != urllib.parse.urlsplit(req.full_url).netloc:
            new.remove_header("Authorization")
        return new


_OPENER = urllib.request.build_opener(_SameHostRedirects)


@dataclass(frozen=True)
class Response:
    """Status, headers and the decoded JSON body (None when empty)."""

    status: int
    headers: dict[str, str]
    data: Any


@dataclass
class GitHubClient:
    """Calls GitHub's REST API. ``sleep`` and ``clock`` are injectable so tests need not wait."""

    token: str = field(repr=False)
    api_url: str = DEFAULT_API
    max_attempts: int = 5
    max_wait: float = 900.0
    timeout: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    clock: Callable[[], float] = field(default=time.time, repr=False)

    def request(self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None) -> Response:
        """One API call, retried on rate limits and transient errors; raises GitHubError on a refusal."""
        url = path if path.startswith("http") else self.api_url.rstrip("/") + path
        if query:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(query)
        data = None if body is None else json.dumps(body).encode()
        parts = urllib.parse.urlsplit(url)
        what = f"{method} {parts.path}"
        if parts.scheme != "https" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            # The token travels in a header: never send it in clear text beyond this machine.
            raise GitHubError(
                f"{what}: refusing to send the token over {parts.scheme or 'no scheme'} to {parts.hostname}"
            )
        for attempt in range(1, self.max_attempts + 1):
            request = urllib.request.Request(url, data=data, method=method, headers=self._headers(data is not None))
            try:
                with _OPENER.open(request, timeout=self.timeout) as reply:
                    return Response(reply.status, _lower(reply.headers), _decode(_read(reply, what)))
            except urllib.error.HTTPError as exc:
                headers = _lower(exc.headers)
                payload = _decode(_read(exc, what))
                wait = self._retry_after(exc.code, headers, payload, attempt)
                if wait is None or attempt == self.max_attempts:
                    raise self._refusal(what, exc.code, payload) from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                if attempt == self.max_attempts:
                    reason = getattr(exc, "reason", exc)
                    raise GitHubError(f"{what}: cannot reach {self.api_url} ({reason})") from None
                wait = min(2.0**attempt, self.max_wait)
            self.sleep(wait)
        raise AssertionError("unreachable")  # the loop returns or raises

    def paginate(self, path: str, query: dict[str, str] | None = None) -> Iterator[Any]:
        """Every item of a list endpoint, following ``Link: rel="next"``."""
        reply = self.request("GET", path, query={"per_page": "100", **(query or {})})
        while True:
            if not isinstance(reply.data, list):
                raise GitHubError(f"GET {path}: expected a list from GitHub")
            yield from reply.data
            match = _NEXT.search(reply.headers.get("link", ""))
            if not match:
                return
            reply = self.request("GET", match.group(1))

    def _headers(self, has_body: bool) -> dict[str, str]:
        headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {self.token}",
            "User-Agent": f"shipyard/{__version__}",
            "X-GitHub-Api-Version": API_VERSION,
        }
        if has_body:
            headers["Content-Type"] = "application/json"
        return headers

    def _retry_after(self, status: int, headers: dict[str, str], payload: Any, attempt: int) -> float | None:
        """Seconds to wait before retrying, or None when the answer is final."""
        message = str(payload.get("message", "")) if isinstance(payload, dict) else ""
        limited = status == 429 or (
            status == 403 and (headers.get("x-ratelimit-remaining") == "0" or "rate limit" in message.lower())
        )
        if limited:
            if "retry-after" in headers:
                try:
                    return min(max(float(headers["retry-after"]), 0.0), self.max_wait)
                except ValueError:
                    pass
            if "x-ratelimit-reset" in headers:
                try:
                    return min(max(float(headers["x-ratelimit-reset"]) - self.clock(), 0.0) + 1.0, self.max_wait)
                except ValueError:
                    pass
            # A secondary limit without headers: GitHub asks for at least a minute between retries.
            return min(60.0 * attempt, self.max_wait)
        if status in (500, 502, 503, 504):
            return min(2.0**attempt, self.max_wait)
        return None

    def _refusal(self, what: str, status: int, payload: Any) -> GitHubError:
        message = payload.get("message") if isinstance(payload, dict) else None
        hints = {
            401: "the token is missing, expired or revoked",
            403: "the token lacks a permission (pull requests: write, issues: write) or a rate limit held",
            404: "the repository or pull request does not exist, or the token cannot see it",
            422: "GitHub rejected the request's content",
        }
        text = f"{what}: GitHub answered {status}" + (f" ({message})" if message else "")
        return GitHubError(text, status=status, hint=hints.get(status))


def _lower(headers: Message | None) -> dict[str, str]:
    return {k.lower(): v for k, v in (headers.items() if headers is not None else [])}


def _read(reply: Any, what: str) -> bytes:
    """At most MAX_BODY bytes of an answer; a larger one is refused before it is held in memory."""
    from shipyard.bounded import MAX_BODY, check_size

    raw: bytes = reply.read(MAX_BODY + 1)
    check_size(len(raw), MAX_BODY, f"GitHub's answer to {what}")
    return raw


def _decode(raw: bytes) -> Any:
    from shipyard.bounded import InputError, parse_json

    if not raw:
        return None
    try:
        return parse_json(raw, "GitHub's answer")
    except InputError:
        return None
