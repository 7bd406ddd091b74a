"""The webhook endpoints: ``POST /hooks/github`` and ``POST /hooks/harbor``.

Each reads at most its size limit (413 beyond, before the rest is read), authenticates, validates, and only
then writes the delivery to the queue (synced to disk) and answers 202. Anything refused gets its 4xx and
never reaches the queue; a delivery seen before gets 200 and is not queued again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shipyard.serve.github_hook import read_github
from shipyard.serve.harbor_hook import read_harbor
from shipyard.serve.queue import Delivery
from shipyard.serve.refusal import Refused
from shipyard.serve.settings import CLOCK_SKEW

if TYPE_CHECKING:
    from shipyard.serve.app import ServeState

KEPT_HEADERS = {
    "content-type": "Content-Type",
    "user-agent": "User-Agent",
    "x-github-event": "X-GitHub-Event",
    "x-github-delivery": "X-GitHub-Delivery",
    "x-hub-signature-256": "X-Hub-Signature-256",
}


async def read_capped(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise Refused(400, "the Content-Length header is not a number")
        if int(declared) > limit:
            raise Refused(413, f"the body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused(413, f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _state(request: Request) -> ServeState:
    state: ServeState = request.app.state.shipyard
    return state


def _refused(state: ServeState, source: str, exc: Refused) -> Response:
    state.events.append("refused", source=source, status=exc.status, reason=exc.message)
    return JSONResponse({"error": exc.message}, exc.status)


async def _enqueue(state: ServeState, delivery: Delivery) -> Response:
    queued = await run_in_threadpool(state.queue.accept, delivery)
    summary: dict[str, Any] = {"source": delivery.source, "id": delivery.id, "event": delivery.event}
    if queued is None:
        state.events.append("duplicate", **summary)
        return JSONResponse({"duplicate": True, **summary}, 200)
    state.events.append("accepted", **summary, name=queued.name, key=queued.key)
    state.hub.publish("run", {"name": queued.name, **summary, "key": queued.key, "state": "queued"})
    ahead = state.dispatcher.submit(queued)  # after "queued" is out: a worker may say "running" at once
    return JSONResponse({"accepted": queued.name, **summary, "ahead": ahead}, 202)


async def github_hook(request: Request) -> Response:
    """A GitHub delivery: verified, then queued (202), or refused (4xx), or known already (200)."""
    state = _state(request)
    settings = state.settings
    try:
        raw = await read_capped(request, settings.max_github_body)
        headers = {k.lower(): v for k, v in request.headers.items()}
        now = settings.clock()
        event = read_github(
            headers, raw, settings.github_secret, now=now, window=settings.replay_window, skew=CLOCK_SKEW
        )
    except Refused as exc:
        return _refused(state, "github", exc)
    if event.event == "ping":
        state.events.append("ping", source="github", id=event.delivery)
        return JSONResponse({"pong": True, "id": event.delivery}, 200)
    if not event.routed:
        reason = f"no pipeline listens to {event.event} events"
        state.events.append("ignored", source="github", id=event.delivery, event=event.event, reason=reason)
        return JSONResponse({"ignored": reason, "id": event.delivery}, 200)
    kept = {name: headers[key] for key, name in KEPT_HEADERS.items() if key in headers}
    delivery = Delivery("github", event.delivery, event.event, event.key, now, kept, raw)
    return await _enqueue(state, delivery)


async def harbor_hook(request: Request) -> Response:
    """A Harbor event: authenticated, then queued when a vulnerability scan ended, else recorded (200)."""
    state = _state(request)
    settings = state.settings
    try:
        raw = await read_capped(request, settings.max_harbor_body)
        headers = {k.lower(): v for k, v in request.headers.items()}
        now = settings.clock()
        event = read_harbor(headers, raw, settings.harbor_auth, now=now, window=settings.replay_window, skew=CLOCK_SKEW)
    except Refused as exc:
        return _refused(state, "harbor", exc)
    if not event.wanted:
        summary = {"source": "harbor", "id": event.id, "event": event.type, "repository": event.repository}
        state.events.append("recorded", **summary)
        return JSONResponse({"recorded": True, **summary}, 200)
    delivery = Delivery("harbor", event.id, event.type, event.key, now, {"Content-Type": "application/json"}, raw)
    return await _enqueue(state, delivery)


def routes(state: ServeState) -> list[BaseRoute]:
    """The webhook routes."""
    del state
    return [
        Route("/hooks/github", github_hook, methods=["POST"]),
        Route("/hooks/harbor", harbor_hook, methods=["POST"]),
    ]
