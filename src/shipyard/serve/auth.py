"""Who is asking: an ASGI middleware that puts an ``Identity`` and the browser's ``Session`` on every request
(``request.state.identity``, ``request.state.session``) and refuses whoever may not read.

Webhooks are not its business (``/hooks/*`` carry their own authentication: GitHub's signature, Harbor's
header), nor are the health checks, the static files and the sign-in page. A person is known by, in order:

1. ``Authorization: Bearer <token>``: a token of the approvals library's tokens file (``People``). A header
   that names no one is refused (401), in every mode;
2. ``--auth proxy``: the user an authenticating proxy names in its header, believed only from its addresses;
3. the session cookie of someone who signed in with their token, while they still hold that token.

Anyone else is anonymous: they read under ``--auth open``, and are refused under ``token`` and ``proxy``
(401 for machines; browsers are sent to the sign-in page). Only a person decides on a manual stage.

A browser without a session gets an anonymous one (its CSRF token is what the sign-in form carries).
SameSite=Strict keeps the cookie off a navigation that starts on another site, such as a link in a pull
request; such a first request is answered with a page that reloads itself from this site, so the cookie a
person has is sent, rather than replaced by a new anonymous one.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import quote

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shipyard.promotion.tokens import bearer
from shipyard.serve.people import People
from shipyard.serve.sessions import COOKIE, EndedSessions, Session, SessionCodec, cookie
from shipyard.serve.settings import AuthSettings

PUBLIC_PREFIXES = ("/hooks/", "/static/")
PUBLIC_PATHS = frozenset({"/healthz", "/readyz"})
SIGN_IN_PATHS = frozenset({"/login", "/logout"})
MAX_NAME = 200
# Reloads the page from this site, so that a SameSite=Strict cookie is sent; no script needed.
CONTINUE_PAGE = (
    b'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0">'
    b'<title>Shipyard</title></head><body><p><a href="">Continue to Shipyard</a></p></body></html>'
)


@dataclass(frozen=True)
class Identity:
    """The person (or proxy user) behind a request, and how that is known; ``name`` None is anonymous."""

    name: str | None
    via: str
    """``open`` (anonymous), ``token`` (a bearer header), ``session`` (signed in with a token), ``proxy``, or
    ``refused``."""

    def to_json(self) -> dict[str, Any]:
        """JSON data of the identity."""
        return {"name": self.name, "via": self.via}


ANONYMOUS = Identity(None, "open")
REFUSED = Identity(None, "refused")


@dataclass
class Access:
    """What the middleware and the sign-in routes share: the settings, the tokens, the session signer."""

    auth: AuthSettings
    people: People
    codec: SessionCodec
    ended: EndedSessions
    clock: Callable[[], float]

    def session(self, value: str | None) -> Session | None:
        """The valid session a cookie value holds, if any (not forged, not expired, not logged out)."""
        if not value:
            return None
        found = self.codec.decode(value, self.clock())
        return found if found is not None and found.sid not in self.ended else None

    def new_session(self, person: str | None = None, token: str | None = None) -> Session:
        """A fresh session (anonymous unless ``person`` signed in with the token of fingerprint ``token``)."""
        return Session.new(self.clock(), self.auth.session_lifetime, person, token)

    def secure(self, scope: Scope) -> bool:
        """True when the browser reaches serve over TLS: its cookies are then Secure."""
        return scope.get("scheme") == "https" or (self.auth.public_url or "").startswith("https://")

    def set_cookie(self, session: Session, scope: Scope) -> str:
        """The ``Set-Cookie`` value that gives the browser ``session``."""
        lifetime = max(0, int(session.expires - self.clock()))
        return cookie(self.codec.encode(session), secure=self.secure(scope), max_age=lifetime)

    def identify(self, headers: dict[str, str], client: str | None, session: Session | None) -> Identity | None:
        """Who sent a request with these (lower-case) headers from ``client``; None when it is refused."""
        authorization = headers.get("authorization")
        if authorization is not None:
            found = self.people.person(bearer(authorization))
            return Identity(found[0], "token") if found else None
        if self.auth.mode == "proxy":
            return self._proxy_user(headers, client)
        if session is not None and session.person is not None and self.people.holds(session.person, session.token):
            return Identity(session.person, "session")
        return ANONYMOUS if self.auth.mode == "open" else None

    def _proxy_user(self, headers: dict[str, str], client: str | None) -> Identity | None:
        if client is None or not _trusted(self.auth, client):
            return None
        user = headers.get(self.auth.proxy_header.lower(), "").strip()
        if not user or len(user) > MAX_NAME or not user.isprintable():
            return None
        platform = self.people.platform
        if platform is not None:
            from shipyard.promotion.people import Directory

            user = Directory.of(platform).identify(user) or user  # an email the spec lists names its person
        return Identity(user, "proxy")


def _trusted(auth: AuthSettings, client: str) -> bool:
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return False
    return any(address in network for network in auth.trusted_proxies)


def session_cookie(header: str) -> str | None:
    """Our cookie's value in a ``Cookie`` header."""
    if not header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None else None


def wants_page(scope: Scope, headers: dict[str, str]) -> bool:
    """True for a browser's GET of a page (it gets a session, and a redirect to sign in rather than a 401)."""
    return scope["method"] in ("GET", "HEAD") and "text/html" in headers.get("accept", "")


class AuthMiddleware:
    """Sets ``identity``, ``session``, ``bearer`` and ``access`` in the request's state; refuses the unknown."""

    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/hooks/"):
            if scope["type"] == "http":
                scope.setdefault("state", {}).update(identity=REFUSED, session=None, bearer=False, access=self.access)
            await self.app(scope, receive, send)
            return
        access = self.access
        path: str = scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        client = scope.get("client")
        raw = session_cookie(headers.get("cookie", ""))
        session = access.session(raw)
        identity = access.identify(headers, client[0] if client else None, session)
        stale = session is not None and session.person is not None and (identity is None or identity.via != "session")
        if stale and access.auth.mode != "proxy":
            session = None  # its token was revoked, or its person left the spec: signed out
        fresh: Session | None = None
        page = wants_page(scope, headers)
        if session is None and (page or path in SIGN_IN_PATHS):
            if raw is None and page and headers.get("sec-fetch-site") == "cross-site":
                await _respond(send, 200, CONTINUE_PAGE, "text/html; charset=utf-8")
                return
            session = fresh = access.new_session()
        state = scope.setdefault("state", {})
        by_token = identity is not None and identity.via == "token"
        state.update(identity=identity or REFUSED, session=session, bearer=by_token, access=self.access)
        public = path in PUBLIC_PATHS or path in SIGN_IN_PATHS or path.startswith(PUBLIC_PREFIXES)
        extra = [(b"set-cookie", access.set_cookie(fresh, scope).encode("latin-1"))] if fresh is not None else []
        if identity is None and not public:
            if page:
                target = path + (f"?{scope['query_string'].decode('latin-1')}" if scope.get("query_string") else "")
                location = "/login?next=" + quote(target, safe="")
                await _respond(send, 303, b"", "text/plain", [(b"location", location.encode()), *extra])
                return
            body = json.dumps({"error": "authentication required"}).encode()
            challenge = b"Proxy" if access.auth.mode == "proxy" else b'Bearer realm="shipyard"'
            await _respond(send, 401, body, "application/json", [(b"www-authenticate", challenge), *extra])
            return
        if not extra:
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                prefix = f"{COOKIE}=".encode()
                own = any(k.lower() == b"set-cookie" and v.startswith(prefix) for k, v in message.get("headers", []))
                if not own:  # a sign-in or sign-out sets its own session
                    message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


async def _respond(
    send: Send, status: int, body: bytes, content_type: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
