"""Signing in and out of the pages with a person's token (the one ``shipyard approvals token add`` made).

``GET /login`` is the form; ``POST /login`` checks the token (CSRF-checked like every form: the anonymous
session's token) and opens a new session for its person, with a new id and a new CSRF token, then goes back
to where the person was (a path of this site only). ``POST /logout`` ends the session for good and gives the
browser a new anonymous one. Behind an authenticating proxy (``--auth proxy``) the proxy signs people in,
and these forms say so.

On a cluster with ``identity.oidc``, the login is the provider's, through the authenticating proxy in front
of serve; the page shows the provider's settings (``oidc_config``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from shipyard.serve.auth import Access
from shipyard.serve.csrf import MAX_FORM, Refusal, read_body

if TYPE_CHECKING:
    from shipyard.serve.app import ServeState

MAX_NEXT = 2000


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site, never another site (``//host``, ``/\\host``)."""
    if (
        not target
        or len(target) > MAX_NEXT
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or not target.isprintable()
    ):
        return "/board"
    return target


def _oidc(state: ServeState) -> dict[str, object] | None:
    from shipyard.promotion.oidc import oidc_config

    platform = state.settings.platform
    config = oidc_config(platform) if platform is not None else None
    return config.to_json() if config is not None else None


def _page(request: Request, status: int = 200, error: str | None = None) -> Response:
    state: ServeState = request.app.state.shipyard
    context: dict[str, Any] = {
        "next": safe_next(request.query_params.get("next")),
        "error": error,
        "oidc": _oidc(state),
        "tokens": state.access.people.enabled,
    }
    response = state.templates.TemplateResponse(request, "login.html", context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


async def login_form(request: Request) -> Response:
    """The sign-in form."""
    return _page(request)


async def login(request: Request) -> Response:
    """Check the token and open a session for its person."""
    from urllib.parse import parse_qs

    state: ServeState = request.app.state.shipyard
    access: Access = state.access
    if state.settings.auth.mode == "proxy":
        return _page(request, 400, "the authenticating proxy in front of serve signs people in here")
    try:
        body = await read_body(request.receive, MAX_FORM)
    except Refusal as refused:
        return _page(request, refused.status, refused.reason)
    form = parse_qs(body.decode("utf-8", "replace"))
    token = (form.get("token") or [""])[0].strip()
    target = safe_next(next(iter(form.get("next") or []), None))
    found = access.people.person(token) if token else None
    if found is None:
        # Never say whether the token exists or was revoked, nor echo it (nor log it).
        state.events.append("sign-in-refused", client=request.client.host if request.client else None)
        return _page(request, 401, "that token signs nobody in: it is unknown, revoked, or its person left people")
    person, fingerprint = found
    state.events.append("sign-in", person=person)
    old = request.state.session
    if old is not None:
        access.ended.end(old)  # the anonymous session's id and CSRF token are not carried over
    session = access.new_session(person, fingerprint)
    response = RedirectResponse(target, status_code=303)
    response.headers["Set-Cookie"] = access.set_cookie(session, request.scope)
    return response


async def logout(request: Request) -> Response:
    """End the session for good; the browser gets a new anonymous one."""
    state: ServeState = request.app.state.shipyard
    access: Access = state.access
    old = request.state.session
    if old is not None:
        access.ended.end(old)
        state.events.append("sign-out", person=old.person)
    response = RedirectResponse("/login" if state.settings.auth.mode != "open" else "/board", status_code=303)
    response.headers["Set-Cookie"] = access.set_cookie(access.new_session(), request.scope)
    return response


def routes(state: ServeState) -> list[BaseRoute]:
    """The sign-in form, signing in, signing out."""
    del state
    return [
        Route("/login", login_form, methods=["GET"], name="login-form"),
        Route("/login", login, methods=["POST"], name="login"),
        Route("/logout", logout, methods=["POST"], name="logout"),
    ]
