"""The app factory: ``create_app(settings)`` builds the Starlette application and the state its routes share.

Routes come from route modules, each a ``routes(state) -> list[BaseRoute]`` function (``ROUTE_MODULES``):
the webhooks, the read API, the event stream, the pages. To add pages, write a module with its own
``routes`` and put it in ``ROUTE_MODULES`` (or pass it in ``extra``); templates go in ``serve/templates/``
(Jinja2, ``base.html`` is the layout) and static files in ``serve/static/``. A page for an API resource is
registered with ``state.pages[resource] = "template.html"``: the resource's path then renders it for browsers
with the same data its JSON has. Anything that changes publishes to the ``/events`` stream with
``state.hub.publish(event, data)``, from any thread.

Every request passes ``AuthMiddleware`` (who is asking; ``auth.py``) and then ``CsrfMiddleware`` (a request
that changes something comes from serve's own pages; ``csrf.py``). Templates get ``me`` (the identity),
``csrf`` (the session's token, for forms) and ``auth`` (the mode) besides their own data.

Starting the app recovers the queue (every accepted delivery not done is queued again), starts the workers,
and watches the config repo's branch; stopping lets running work finish for a short while and leaves the
rest on disk for the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from shipyard.serve import api, decisions, hooks, login, pages, stream
from shipyard.serve.auth import Access, AuthMiddleware
from shipyard.serve.csrf import CsrfMiddleware
from shipyard.serve.dispatcher import Dispatcher, Process
from shipyard.serve.events import EventLog, Hub
from shipyard.serve.people import People
from shipyard.serve.queue import DurableQueue
from shipyard.serve.runner import processor
from shipyard.serve.sessions import EndedSessions, SessionCodec, load_secret
from shipyard.serve.settings import Settings
from shipyard.serve.views import VIEW_HELPERS

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
STOP_GRACE = 10.0  # seconds a stop waits for running deliveries (the rest stay pending on disk)
PRUNE_EVERY = 3600.0

RouteModule = Callable[["ServeState"], list[BaseRoute]]
PageExtras = Callable[["ServeState", Request, Any], dict[str, Any]]
ROUTE_MODULES: tuple[RouteModule, ...] = (
    hooks.routes,
    api.routes,
    stream.routes,
    login.routes,
    decisions.routes,
    pages.routes,
)
log = logging.getLogger("shipyard.serve")


@dataclass
class ServeState:
    """What every route reads: settings, queue, event log, the event hub, the workers, the templates, and who
    may sign in (``access``)."""

    settings: Settings
    queue: DurableQueue
    events: EventLog
    hub: Hub
    dispatcher: Dispatcher
    templates: Jinja2Templates
    access: Access
    pages: dict[str, str] = field(default_factory=dict)
    page_extras: dict[str, PageExtras] = field(default_factory=dict)
    config_tip: str | None = None
    _tags: Any = field(default=None, repr=False)
    _tags_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def tags(self) -> Any:
        """The registry's tag lookup for promotions (opened the first time a promotion needs it)."""
        with self._tags_lock:
            if self._tags is None:
                from shipyard.promotion.tags import StoreTags
                from shipyard.registry.stores import Stores

                settings = self.settings
                assert settings.platform is not None and settings.root is not None
                self._tags = StoreTags(Stores.for_platform(settings.platform, settings.root))
            return self._tags

    def close(self) -> None:
        """Close what promotions opened (the registry's connections)."""
        with self._tags_lock:
            if self._tags is not None:
                self._tags.close()
                self._tags = None

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
    auth = settings.auth
    secret = auth.session_secret or load_secret(settings.sessions_dir)
    access = Access(
        auth=auth,
        people=People(settings.platform, auth.tokens_file),
        codec=SessionCodec(secret),
        ended=EndedSessions(settings.sessions_dir, settings.clock()),
        clock=settings.clock,
    )
    # Autoescaped (every .html template): every value from outside is escaped.
    templates = Jinja2Templates(directory=str(TEMPLATES), context_processors=[page_context])
    templates.env.globals.update(VIEW_HELPERS)
    return ServeState(settings, queue, events, hub, dispatcher, templates, access)


def page_context(request: Request) -> dict[str, Any]:
    """What every template gets besides its data: who is signed in, the CSRF token for forms, the auth mode."""
    session = getattr(request.state, "session", None)
    state: ServeState = request.app.state.shipyard
    return {
        "me": getattr(request.state, "identity", None),
        "csrf": session.csrf if session is not None else "",
        "auth": state.settings.auth.mode,
        "signin": state.access.people.enabled and state.settings.auth.mode != "proxy",
    }


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
            state.close()

    found: list[BaseRoute] = []
    for module in (*ROUTE_MODULES, *extra):
        found.extend(module(state))
    found.append(Mount("/static", app=StaticFiles(directory=str(STATIC)), name="static"))
    middleware = [
        Middleware(AuthMiddleware, state.access),
        Middleware(CsrfMiddleware, settings.auth.public_url),
    ]
    app = Starlette(routes=found, middleware=middleware, lifespan=lifespan)
    app.state.shipyard = state
    return app
