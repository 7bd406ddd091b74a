"""The read side, one resource per path, the same data as the CLI's ``--json``:

| path | data, as |
| --- | --- |
| ``/status`` | ``shipyard status --json`` |
| ``/freight`` | ``shipyard freight list --json`` |
| ``/trace/{service}`` (``?env=``) | ``shipyard trace SERVICE --json`` |
| ``/previews`` | ``shipyard preview list --json`` |
| ``/sandbox`` | ``shipyard sandbox status --json`` |
| ``/runs`` (``?limit=``) | deliveries waiting, running and done (embedded: their PipelineRuns) |
| ``/runs/{name}`` | one delivery's record; ``/runs/{name}/logs/{taskrun}/{step}`` a step's log |
| ``/event-log`` (``?limit=``) | the event log, newest first |

Every path answers JSON; when a page is registered for a resource (``ServeState.pages``) and the client
asks for HTML, the page is rendered from the same data instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from shipyard.errors import ShipyardError
from shipyard.serve.refusal import Refused

if TYPE_CHECKING:
    from shipyard.serve.app import ServeState

MAX_LIMIT = 1000
MAX_LOG_BYTES = 1024 * 1024  # the tail of a step's log that is served


class SortedJSON(JSONResponse):
    """JSON with sorted keys and indentation: the bytes ``--json`` prints."""

    def render(self, content: Any) -> bytes:
        return (json.dumps(content, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


Producer = Callable[["ServeState", Request], Any]


def _workspace(state: ServeState) -> tuple[Any, str]:
    settings = state.settings
    if settings.platform is None or settings.config_repo is None:
        raise Refused(404, "serve was started without a workspace: no platform to show")
    return settings.platform, settings.config_repo


def status_data(state: ServeState, request: Request) -> Any:
    """The board."""
    from shipyard.promotion.board import board
    from shipyard.promotion.ledger import read_ledger
    from shipyard.stages.graph import build_graph

    platform, repo = _workspace(state)
    return board(build_graph(platform), read_ledger(repo)).to_json()


def freight_data(state: ServeState, request: Request) -> Any:
    """The freight recorded in the config repo."""
    from shipyard.promotion.ledger import FreightRecords, read_ledger

    _, repo = _workspace(state)
    return FreightRecords(read_ledger(repo).recorded()).to_json()


def trace_data(state: ServeState, request: Request) -> Any:
    """Where a service runs, how it got there."""
    from shipyard.promotion.board import Trace, trace
    from shipyard.promotion.ledger import read_ledger
    from shipyard.stages.graph import build_graph

    platform, repo = _workspace(state)
    service = request.path_params["service"]
    env = request.query_params.get("env") or None
    return Trace(service, trace(build_graph(platform), read_ledger(repo), service, env)).to_json()


def previews_data(state: ServeState, request: Request) -> Any:
    """The previews in the config repo."""
    from shipyard.previews.repo import PreviewList, list_previews

    platform, repo = _workspace(state)
    moment = datetime.fromtimestamp(state.settings.clock(), UTC)
    return PreviewList(moment, list_previews(repo, platform, moment)).to_json()


def sandbox_data(state: ServeState, request: Request) -> Any:
    """The sandbox's state."""
    from shipyard.sandbox.mirror import sandbox_target
    from shipyard.sandbox.mirror import status as read_status

    platform, repo = _workspace(state)
    return read_status(repo, sandbox_target(platform), datetime.fromtimestamp(state.settings.clock(), UTC)).to_json()


def _limit(request: Request, default: int = 100) -> int:
    text = request.query_params.get("limit", str(default))
    if not text.isdigit() or not 0 < int(text) <= MAX_LIMIT:
        raise Refused(400, f"limit must be a number from 1 to {MAX_LIMIT}")
    return int(text)


def runs_data(state: ServeState, request: Request) -> Any:
    """Deliveries waiting, running and done (newest first)."""
    now = state.dispatcher.state()
    return {
        "mode": state.settings.mode,
        "workers": now["workers"],
        "waiting": now["waiting"],
        "running": now["running"],
        "done": state.queue.done(_limit(request)),
    }


def run_data(state: ServeState, request: Request) -> Any:
    """One delivery's record."""
    record = state.queue.record(request.path_params["name"])
    if record is None:
        raise Refused(404, "no such delivery")
    return record


def event_log_data(state: ServeState, request: Request) -> Any:
    """The newest event log entries."""
    return {"events": state.events.tail(_limit(request))}


def step_log(state: ServeState, request: Request) -> Response:
    """A step's log (its last ``MAX_LOG_BYTES``), found through the delivery's record, never by a given path."""
    record = run_data(state, request)
    taskrun, step = request.path_params["taskrun"], request.path_params["step"]
    runs = ((record.get("outcome") or {}).get("run") or {}).get("pipelineRuns") or []
    logs = [
        s.get("log")
        for run in runs
        for task in run.get("tasks") or []
        for tr in task.get("taskRuns") or []
        if tr.get("name") == taskrun
        for s in tr.get("steps") or []
        if s.get("name") == step
    ]
    if not logs or not logs[0]:
        raise Refused(404, "no such step log")
    path = Path(logs[0]).resolve()
    if not path.is_relative_to(state.settings.runs_dir.resolve()):
        raise Refused(404, "no such step log")
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(max(0, size - MAX_LOG_BYTES))
            data = handle.read()
    except OSError:
        raise Refused(404, "the step's log is gone") from None
    return PlainTextResponse(data.decode("utf-8", "replace"))


def wants_html(request: Request) -> bool:
    """True when the client prefers HTML to JSON (a browser), or asks ``?format=html``."""
    asked = request.query_params.get("format")
    if asked:
        return asked == "html"
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept


def resource(name: str, producer: Producer) -> Callable[[Request], Any]:
    """The endpoint of one resource: its data as JSON, or as its page when one is registered and wanted."""

    async def endpoint(request: Request) -> Response:
        state: ServeState = request.app.state.shipyard
        try:
            data = await run_in_threadpool(producer, state, request)
        except Refused as exc:
            return SortedJSON({"error": exc.message}, exc.status)
        except ShipyardError as exc:  # the config repo cannot be read, say: the same line the CLI prints
            return SortedJSON({"error": str(exc)}, 503)
        page = state.pages.get(name)
        if page is not None and wants_html(request):
            return state.templates.TemplateResponse(request, page, {"data": data, "resource": name})
        return SortedJSON(data)

    return endpoint


async def step_log_endpoint(request: Request) -> Response:
    """Serve a step's log as text."""
    state: ServeState = request.app.state.shipyard
    try:
        return await run_in_threadpool(step_log, state, request)
    except Refused as exc:
        return SortedJSON({"error": exc.message}, exc.status)


RESOURCES: tuple[tuple[str, str, Producer], ...] = (
    ("status", "/status", status_data),
    ("freight", "/freight", freight_data),
    ("trace", "/trace/{service:str}", trace_data),
    ("previews", "/previews", previews_data),
    ("sandbox", "/sandbox", sandbox_data),
    ("runs", "/runs", runs_data),
    ("run", "/runs/{name:str}", run_data),
    ("event-log", "/event-log", event_log_data),
)


def routes(state: ServeState) -> list[BaseRoute]:
    """The read side's routes."""
    del state
    found: list[BaseRoute] = [Route(path, resource(name, producer), name=name) for name, path, producer in RESOURCES]
    found.append(Route("/runs/{name:str}/logs/{taskrun:str}/{step:str}", step_log_endpoint, name="step-log"))
    return found
