"""``GET /events``: server-sent events for pages that update themselves.

Events: ``run`` (a delivery was queued, started or finished), ``pipeline`` (a PipelineRun or TaskRun of an
embedded run changed state), ``config`` (the config repo's branch moved to a new commit). Each ``data`` is
one JSON object. A comment line every ``KEEPALIVE`` seconds keeps proxies from closing an idle stream.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

if TYPE_CHECKING:
    from shipyard.serve.app import ServeState

KEEPALIVE = 15.0


def frame(event: str, data: str) -> bytes:
    """One server-sent event (``data`` is one line of JSON)."""
    return f"event: {event}\ndata: {data}\n\n".encode()


async def events(request: Request) -> Response:
    """The stream; 503 when too many are open."""
    state: ServeState = request.app.state.shipyard
    queue = state.hub.subscribe()
    if queue is None:
        return JSONResponse({"error": "too many event streams are open"}, 503)

    async def stream() -> AsyncIterator[bytes]:
        try:
            yield b"retry: 3000\n\n" + frame("hello", json.dumps({"config": state.config_tip}))
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), KEEPALIVE)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                if message is None:  # fell too far behind: the client reconnects and reloads
                    return
                yield frame(*message)
        finally:
            state.hub.unsubscribe(queue)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


def routes(state: ServeState) -> list[BaseRoute]:
    """The event stream's route."""
    del state
    return [Route("/events", events, name="events")]
