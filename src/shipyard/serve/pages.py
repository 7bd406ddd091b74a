"""The pages, rendered on the server from the same data as the JSON API. This module holds the home page and
the health checks; a page for a resource is added by naming its template in ``ServeState.pages`` (see
``register_page``), and the resource's path then answers HTML to browsers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shipyard import __version__
from shipyard.serve.api import RESOURCES, wants_html

if TYPE_CHECKING:
    from shipyard.serve.app import ServeState


async def home(request: Request) -> Response:
    """The home page: what this server offers, with links; JSON for machines."""
    state: ServeState = request.app.state.shipyard
    links = {name: path for name, path, _ in RESOURCES if "{" not in path}
    data = {
        "version": __version__,
        "mode": state.settings.mode,
        "identity": request.state.identity.to_json(),
        "links": {**links, "events": "/events"},
    }
    if wants_html(request):
        return state.templates.TemplateResponse(request, "index.html", {"data": data})
    return JSONResponse(data)


async def healthz(request: Request) -> Response:
    """Liveness: the process answers."""
    return JSONResponse({"ok": True})


async def readyz(request: Request) -> Response:
    """Readiness: the workers run and the queue folder can be written."""
    state: ServeState = request.app.state.shipyard
    ready = state.dispatcher.alive and state.queue_writable()
    return JSONResponse({"ready": ready}, 200 if ready else 503)


def routes(state: ServeState) -> list[BaseRoute]:
    """The home page and the health checks."""
    del state
    return [
        Route("/", home, name="home"),
        Route("/healthz", healthz, name="healthz"),
        Route("/readyz", readyz, name="readyz"),
    ]
