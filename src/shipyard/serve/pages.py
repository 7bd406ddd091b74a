"""The pages, rendered on the server from the same data as the JSON API: this module names each resource's
template (``ServeState.pages``), and holds the home page and the health checks.

| path | page |
| --- | --- |
| ``/board`` | every service in every environment: previews, the stages, the sandbox; pending promotions |
| ``/status`` | the stages and pending promotions |
| ``/approvals`` | freight waiting for decisions, with approve and reject |
| ``/freight`` | the freight recorded, and the stages each passed |
| ``/trace/{service}`` | a service's timeline: commit, pull request, version, each stage (who, when) |
| ``/previews``, ``/sandbox`` | the previews; the sandbox and its TTL |
| ``/runs``, ``/runs/{name}`` | webhook deliveries and their pipeline runs; a run's steps with their logs |
| ``/event-log`` | what serve answered and did |

A browser asking for ``/`` is sent to the board; a machine gets what is served, and who it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from shipyard import __version__
from shipyard.serve.api import RESOURCES, run_logs, wants_html

if TYPE_CHECKING:
    from shipyard.serve.app import ServeState

PAGES = {
    "board": "board.html",
    "status": "status.html",
    "approvals": "approvals.html",
    "freight": "freight.html",
    "trace": "trace.html",
    "previews": "previews.html",
    "sandbox": "sandbox.html",
    "runs": "runs.html",
    "run": "run.html",
    "event-log": "event-log.html",
}


async def home(request: Request) -> Response:
    """Browsers go to the board; machines get what this server offers, with links, and who they are."""
    state: ServeState = request.app.state.shipyard
    if wants_html(request):
        return RedirectResponse("/board", status_code=303)
    links = {name: path for name, path, _ in RESOURCES if "{" not in path}
    data = {
        "version": __version__,
        "mode": state.settings.mode,
        "auth": state.settings.auth.mode,
        "identity": request.state.identity.to_json(),
        "links": {**links, "events": "/events", "login": "/login"},
    }
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
    """The home page and the health checks; registers every resource's page."""
    state.pages.update(PAGES)
    state.page_extras["run"] = run_logs
    return [
        Route("/", home, name="home"),
        Route("/healthz", healthz, name="healthz"),
        Route("/readyz", readyz, name="readyz"),
    ]
