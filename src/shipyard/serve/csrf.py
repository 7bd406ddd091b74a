"""Cross-site request forgery: every request that changes something (any method but GET, HEAD and OPTIONS,
outside the webhooks) must come from serve's own pages.

Three checks, all before the endpoint runs, so a refused request writes nothing:

1. **Origin**: the ``Origin`` header, or failing that the ``Referer``'s origin, is the request's own
   (``scheme://Host``) or the public URL's. A request with neither is refused, unless it was authenticated by
   an ``Authorization`` header, which no browser adds to another site's request on its own.
2. **Token**: the session's CSRF token, sent as the form field ``csrf`` (or the ``X-CSRF-Token`` header),
   compared in constant time. Every form serve renders carries it. Not needed with an ``Authorization``
   header, for the same reason.
3. **SameSite=Strict** on the session cookie (``sessions.cookie``), so another site's page never sends it.

A refusal is 403 with one line saying which check failed (a page for browsers), and a line in the event log.
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FIELD = "csrf"
HEADER = "x-csrf-token"
FORM = "application/x-www-form-urlencoded"
MAX_FORM = 64 * 1024  # a form of serve's is a token and a comment of at most 2,000 characters


class Refusal(Exception):
    """A request that may not pass: its status and the reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of a URL, lower-cased; None when it has none."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def allowed_origins(scope: Scope, headers: dict[str, str], public_url: str | None) -> set[str]:
    """The origins a form may come from: the request's own, and the public URL's."""
    found = set()
    host = headers.get("host")
    if host:
        found.add(f"{scope.get('scheme', 'http')}://{host}".lower())
    public = origin_of(public_url) if public_url else None
    if public:
        found.add(public)
    return found


def check_origin(scope: Scope, headers: dict[str, str], public_url: str | None, *, by_token: bool) -> None:
    """Refusal unless the request comes from one of serve's own pages (or carries its own credentials)."""
    allowed = allowed_origins(scope, headers, public_url)
    origin = headers.get("origin")
    if origin is not None:
        if origin.lower() not in allowed:
            raise Refusal(403, "the request comes from another site (its Origin)")
        return
    referer = headers.get("referer")
    if referer:
        if origin_of(referer) not in allowed:
            raise Refusal(403, "the request comes from another site (its Referer)")
        return
    if not by_token:
        raise Refusal(403, "the request says neither its Origin nor its Referer")


def check_token(expected: str | None, given: str | None) -> None:
    """Refusal unless ``given`` is the session's CSRF token (compared in constant time)."""
    if not expected:
        raise Refusal(403, "the request has no session: reload the page, then send the form again")
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Refusal(403, "the form's CSRF token is missing or wrong: reload the page, then send the form again")


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole request body, refused (413) beyond ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Refusal(400, "the client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise Refusal(413, f"a form of at most {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(body: bytes) -> Receive:
    """A ``receive`` that hands the endpoint the body already read."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


class CsrfMiddleware:
    """Refuses (403) a state-changing request that does not come from serve's own pages. Runs inside
    ``AuthMiddleware``, whose session and ``bearer`` flag it reads."""

    def __init__(self, app: ASGIApp, public_url: str | None = None) -> None:
        self.app = app
        self.public_url = public_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS or scope["path"].startswith("/hooks/"):
            await self.app(scope, receive, send)
            return
        state = scope.get("state", {})
        by_token = bool(state.get("bearer"))
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            check_origin(scope, headers, self.public_url, by_token=by_token)
            if not by_token:
                session = state.get("session")
                given = headers.get(HEADER)
                if given is None and headers.get("content-type", "").split(";")[0].strip().lower() == FORM:
                    body = await read_body(receive, MAX_FORM)
                    given = parse_qs(body.decode("utf-8", "replace")).get(FIELD, [None])[0]
                    receive = replay(body)
                check_token(session.csrf if session is not None else None, given)
        except Refusal as refused:
            await _refuse(scope, receive, send, refused, headers)
            return
        await self.app(scope, receive, send)


async def _refuse(scope: Scope, receive: Receive, send: Send, refused: Refusal, headers: dict[str, str]) -> None:
    state = scope["app"].state.shipyard
    state.events.append("refused", path=scope["path"], status=refused.status, reason=refused.reason)
    response: Response
    if "text/html" in headers.get("accept", ""):
        context = {"error": refused.reason, "title": "Refused"}
        response = state.templates.TemplateResponse(Request(scope), "error.html", context, status_code=refused.status)
    else:
        response = JSONResponse({"error": refused.reason}, refused.status)
    await response(scope, receive, send)
