"""Who is asking: an ASGI middleware that puts an ``Identity`` on every request (``request.state.identity``)
and refuses, with 401, whoever may not read.

Webhooks are not its business (``/hooks/*`` carry their own authentication: GitHub's signature, Harbor's
header), nor are the health checks and the static files. Everything else follows ``AuthSettings``:

- ``open``: everyone reads; the identity is anonymous (an approval needs a name, so it will refuse).
- ``token``: ``Authorization: Bearer <token>`` or the ``shipyard_token`` cookie (an ``EventSource`` sends no
  headers), compared in constant time with every configured token; the token's name is the identity.
- ``proxy``: an authenticating proxy (oauth2-proxy, an ingress auth hook) names the user in a header; it is
  believed only from the proxies' addresses.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from shipyard.serve.settings import AuthSettings

PUBLIC_PREFIXES = ("/hooks/", "/static/")
PUBLIC_PATHS = frozenset({"/healthz", "/readyz"})
COOKIE = "shipyard_token"
MAX_NAME = 200


@dataclass(frozen=True)
class Identity:
    """The person (or robot) behind a request, and how that is known; ``name`` None is anonymous."""

    name: str | None
    via: str

    def to_json(self) -> dict[str, Any]:
        """JSON data of the identity."""
        return {"name": self.name, "via": self.via}


ANONYMOUS = Identity(None, "open")


def identify(auth: AuthSettings, headers: dict[str, str], client: str | None) -> Identity | None:
    """The identity of a request with these (lower-case) headers from ``client``; None when it is refused."""
    if auth.mode == "open":
        return ANONYMOUS
    if auth.mode == "token":
        offered = _bearer(headers.get("authorization", "")) or _cookie(headers.get("cookie", ""))
        if not offered:
            return None
        found = None
        for name, token in auth.tokens.items():
            # Every token is compared, so the time taken does not tell which one matched.
            if hmac.compare_digest(offered.encode(), token.encode()):
                found = name
        return Identity(found, "token") if found else None
    if client is None or not _trusted(auth, client):
        return None
    user = headers.get(auth.proxy_header.lower(), "").strip()
    if not user or len(user) > MAX_NAME or not user.isprintable():
        return None
    return Identity(user, "proxy")


def _bearer(value: str) -> str:
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _cookie(value: str) -> str:
    if not value:
        return ""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(value)
    except CookieError:
        return ""
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None else ""


def _trusted(auth: AuthSettings, client: str) -> bool:
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return False
    return any(address in network for network in auth.trusted_proxies)


class AuthMiddleware:
    """Sets ``scope["state"]["identity"]``; answers 401 for a refused request outside the public paths."""

    def __init__(self, app: ASGIApp, auth: AuthSettings) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        public = path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        client = scope.get("client")
        identity = identify(self.auth, headers, client[0] if client else None)
        scope.setdefault("state", {})["identity"] = identity or Identity(None, "refused")
        if identity is None and not public:
            body = json.dumps({"error": "authentication required"}).encode()
            challenge = b'Bearer realm="shipyard"' if self.auth.mode == "token" else b"Proxy"
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"www-authenticate", challenge),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
