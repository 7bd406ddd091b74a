"""The read side, one resource per path, the same data as the CLI's ``--json``:

| path | data, as |
| --- | --- |
| ``/board`` | ``status``, ``previews`` and ``sandbox`` below, together: every environment on one page |
| ``/status`` | ``shipyard status --json`` |
| ``/freight`` | ``shipyard freight list --json`` |
| ``/trace/{service}`` (``?env=``) | ``shipyard trace SERVICE --json`` |
| ``/previews`` | ``shipyard preview list --json`` |
| ``/sandbox`` | ``shipyard sandbox status --json`` |
| ``/approvals`` | ``shipyard approvals list --json`` |
| ``/runs`` (``?limit=``) | deliveries waiting, running and done (embedded: their PipelineRuns) |
| ``/runs/{name}`` | one delivery's record; ``/runs/{name}/logs/{taskrun}/{step}`` a step's log |
| ``/event-log`` (``?limit=``) | the event log, newest first |

Every path answers JSON; when a page is registered for a resource (``ServeState.pages``) and the client
asks for HTML, the page is rendered from the same data instead (with ``ServeState.page_extras`` adding what
the page shows beside it, such as a run's step logs).
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
EMBED_LOG_BYTES = 64 * 1024  # the tail of each step's log a run's page shows (the rest: the raw log's link)
EMBED_TOTAL_BYTES = 1024 * 1024  # all the logs one run's page shows


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
    """The stages: ``shipyard status --json`` (pending promotions with who approved them so far)."""
    from shipyard.promotion.board import board
    from shipyard.promotion.decide import approval_queue
    from shipyard.promotion.ledger import read_ledger
    from shipyard.stages.graph import build_graph

    platform, repo = _workspace(state)
    ledger = read_ledger(repo)
    queue = approval_queue(platform, ledger, state.settings.root)
    return board(build_graph(platform), ledger, queue.waiting).to_json()


def board_data(state: ServeState, request: Request) -> Any:
    """Every environment: the stages, the previews and the sandbox, each as its own command's JSON."""
    return {
        "status": status_data(state, request),
        "previews": previews_data(state, request),
        "sandbox": sandbox_data(state, request),
    }


def approvals_data(state: ServeState, request: Request) -> Any:
    """Freight waiting for decisions on manual stages: ``shipyard approvals list --json``."""
    from shipyard.promotion.decide import approval_queue
    from shipyard.promotion.ledger import read_ledger

    platform, repo = _workspace(state)
    return approval_queue(platform, read_ledger(repo), state.settings.root).to_json()


def freight_data(state: ServeState, request: Request) -> Any:
    """The freight recorded in the config repo."""
    from shipyard.promotion.ledger import FreightRecords, read_ledger

    _, repo = _workspace(state)
    return FreightRecords.of(read_ledger(repo)).to_json()


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


def _log_path(state: ServeState, record: dict[str, Any], taskrun: str, step: str) -> Path | None:
    """A step's log file, found through the delivery's record (never from a path in the request)."""
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
        return None
    path = Path(logs[0]).resolve()
    return path if path.is_relative_to(state.settings.runs_dir.resolve()) else None


def _tail(path: Path, size: int) -> tuple[str, int]:
    """The last ``size`` bytes of a file as text, and the file's whole size."""
    with path.open("rb") as handle:
        total = handle.seek(0, 2)
        handle.seek(max(0, total - size))
        return handle.read().decode("utf-8", "replace"), total


def step_log(state: ServeState, request: Request) -> Response:
    """A step's log (its last ``MAX_LOG_BYTES``), found through the delivery's record, never by a given path."""
    record = run_data(state, request)
    path = _log_path(state, record, request.path_params["taskrun"], request.path_params["step"])
    if path is None:
        raise Refused(404, "no such step log")
    try:
        text, _ = _tail(path, MAX_LOG_BYTES)
    except OSError:
        raise Refused(404, "the step's log is gone") from None
    return PlainTextResponse(text)


def run_logs(state: ServeState, request: Request, record: Any) -> dict[str, Any]:
    """What a run's page shows beside its record: each step's log tail (``EMBED_LOG_BYTES``, and
    ``EMBED_TOTAL_BYTES`` for the whole page), keyed ``taskRun/step``; ``truncated`` when only the end is shown."""
    from shipyard.serve.views import run_steps

    logs: dict[str, dict[str, Any]] = {}
    budget = EMBED_TOTAL_BYTES
    for step in run_steps(record):
        path = _log_path(state, record, step["taskRun"], step["step"]) if step["hasLog"] else None
        if path is None:
            continue
        key = f"{step['taskRun']}/{step['step']}"
        try:
            text, size = _tail(path, min(EMBED_LOG_BYTES, budget)) if budget > 0 else ("", path.stat().st_size)
        except OSError:
            continue
        shown = len(text.encode())
        budget -= shown
        truncated = shown < size
        if truncated and "\n" in text:
            text = text.split("\n", 1)[1]  # from the first whole line on
        logs[key] = {"text": text, "size": size, "shown": len(text.encode()), "truncated": truncated}
    return {"logs": logs}


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
        page = state.pages.get(name) if wants_html(request) else None
        try:
            data = await run_in_threadpool(producer, state, request)
        except (Refused, ShipyardError) as exc:
            # A bad parameter is its 4xx; a library error (the config repo cannot be read) is 503 with the
            # line the CLI would print.
            status = exc.status if isinstance(exc, Refused) else 503
            message = exc.message if isinstance(exc, Refused) else str(exc)
            if page is not None:
                return state.templates.TemplateResponse(
                    request, "error.html", {"error": message, "resource": name}, status_code=status
                )
            return SortedJSON({"error": message}, status)
        if page is not None:
            extras = state.page_extras.get(name)
            more = await run_in_threadpool(extras, state, request, data) if extras is not None else {}
            return state.templates.TemplateResponse(request, page, {"data": data, "resource": name, **more})
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
    ("board", "/board", board_data),
    ("status", "/status", status_data),
    ("freight", "/freight", freight_data),
    ("trace", "/trace/{service:str}", trace_data),
    ("previews", "/previews", previews_data),
    ("sandbox", "/sandbox", sandbox_data),
    ("approvals", "/approvals", approvals_data),
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
