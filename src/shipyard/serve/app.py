"""The app factory: ``create_app(settings)`` builds the Starlette application and the state its routes share.

Routes come from route modules, each a ``routes(state) -> list[BaseRoute]`` function (``ROUTE_MODULES``):
the webhooks, the read API, the event stream, the pages. To add pages, write a module with its own
``routes`` and put it in ``ROUTE_MODULES`` (or pass it in ``extra``); templates go in ``serve/templates/``
(Jinja2, ``base.html`` is the layout) and static files in ``serve/static/``. A page for an API resource is
registered with ``state.pages[resource] = "template.html"``: the resource's path then renders it for browsers
with the same data its JSON has. Anything that changes publishes to the ``/events`` stream with
``state.hub.publish(event, data)``, from any thread.

Starting the app recovers the queue (every accepted delivery not done is queued again), starts the workers,
and watches the config repo's branch; stopping lets running work finish for a short while and leaves the
rest on disk for the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from shipyard.serve import api, hooks, pages, stream
from shipyard.serve.auth import AuthMiddleware
from shipyard.serve.dispatcher import Dispatcher, Process
from shipyard.serve.events import EventLog, Hub
from shipyard.serve.queue import DurableQueue
from shipyard.serve.runner import processor
from shipyard.serve.settings import Settings

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
STOP_GRACE = 10.0  # seconds a stop waits for running deliveries (the rest stay pending on disk)
PRUNE_EVERY = 3600.0

RouteModule = Callable[["ServeState"], list[BaseRoute]]
ROUTE_MODULES: tuple[RouteModule, ...] = (hooks.routes, api.routes, stream.routes, pages.routes)
log = logging.getLogger("shipyard.serve")


@dataclass
class ServeState:
    """What every route reads: settings, queue, event log, the event hub, the workers, the templates."""

    settings: Settings
    queue: DurableQueue
    events: EventLog
    hub: Hub
    dispatcher: Dispatcher
    templates: Jinja2Templates
    pages: dict[str, str] = field(default_factory=dict)
    config_tip: str | None = None

    def queue_writable(self) -> bool:
        """True when a file can be made in the queue folder now."""
        return os.access(self.queue.pending_dir, os.W_OK | os.X_OK)


def build_state(settings: Settings, process: Process | None = None) -> ServeState:
    """The shared state (nothing started yet). ``process`` replaces what a delivery does: a seam for tests."""
    settings.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    queue = DurableQueue(settings.queue_dir, retention=settings.retention, clock=settings.clock)
    events = EventLog(settings.event_log, clock=settings.clock)
    hub = Hub()
    work = process or processor(settings, hub)
    dispatcher = Dispatcher(queue, work, concurrency=settings.concurrency, events=events, hub=hub)
    templates = Jinja2Templates(directory=str(TEMPLATES))  # autoescaped: every value from outside is escaped
    return ServeState(settings, queue, events, hub, dispatcher, templates)


def config_tip(repo: str, cwd: Path) -> str | None:
    """The commit the config repo's branch points at now (None when it cannot be read)."""
    from shipyard.configrepo.location import BRANCH
    from shipyard.errors import ShipyardError
    from shipyard.git import Git

    try:
        refs = Git(cwd).remote_refs(repo, f"refs/heads/{BRANCH}")
    except ShipyardError:
        return None
    return refs[0][1] if refs else None


async def _watch(state: ServeState) -> None:
    """Publish ``config`` when the config repo's branch moves; prune old records now and then."""
    settings = state.settings
    since_prune = 0.0
    while True:
        if settings.config_repo is not None:
            tip = await run_in_threadpool(config_tip, settings.config_repo, settings.state_dir)
            if tip is not None and tip != state.config_tip:
                first = state.config_tip is None
                state.config_tip = tip
                if not first:
                    state.hub.publish("config", {"commit": tip})
        since_prune += settings.watch_interval
        if since_prune >= PRUNE_EVERY:
            since_prune = 0.0
            await run_in_threadpool(state.queue.prune)
        await asyncio.sleep(settings.watch_interval)


def create_app(settings: Settings, *, process: Process | None = None, extra: Sequence[RouteModule] = ()) -> Starlette:
    """The ASGI application for ``settings``; ``extra`` route modules come after the built-in ones."""
    state = build_state(settings, process)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        state.hub.bind(asyncio.get_running_loop())
        recovered = await run_in_threadpool(state.queue.recover)
        if recovered:
            state.events.append("recovered", count=len(recovered))
        state.dispatcher.start(recovered)
        watcher = asyncio.create_task(_watch(state))
        try:
            yield {}
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await run_in_threadpool(state.dispatcher.stop, STOP_GRACE)

    found: list[BaseRoute] = []
    for module in (*ROUTE_MODULES, *extra):
        found.extend(module(state))
    found.append(Mount("/static", app=StaticFiles(directory=str(STATIC)), name="static"))
    app = Starlette(routes=found, middleware=[Middleware(AuthMiddleware, settings.auth)], lifespan=lifespan)
    app.state.shipyard = state
    return app
