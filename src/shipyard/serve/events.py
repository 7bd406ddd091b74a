"""What happened, for people and pages: the event log on disk, and the hub that pushes changes to every open
``/events`` stream.

The event log is a JSON-lines file, one entry per webhook answered and per run that started or ended. It is
operational history, not platform state: it rotates at ``MAX_LOG_BYTES`` (one older file kept). Entries never
hold a secret or a request body.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shipyard.times import format_rfc3339

MAX_LOG_BYTES = 16 * 1024 * 1024
MAX_SUBSCRIBERS = 64
SUBSCRIBER_BACKLOG = 256  # messages a slow reader may fall behind before it is dropped


def now_text(clock: Callable[[], float] = time.time) -> str:
    """The clock's time as RFC 3339 UTC."""
    return format_rfc3339(datetime.fromtimestamp(clock(), UTC))


class EventLog:
    """Appends entries to ``path`` (rotating it) and reads the newest back. Thread-safe."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time, max_bytes: int = MAX_LOG_BYTES) -> None:
        self.path = path
        self.clock = clock
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def append(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Add one entry (``time`` and ``kind`` first) and return it."""
        entry = {"time": now_text(self.clock), "kind": kind, **fields}
        line = json.dumps(entry, sort_keys=True) + "\n"
        with self._lock:
            try:
                if self.path.stat().st_size + len(line) > self.max_bytes:
                    self.path.replace(self.path.with_suffix(".1.jsonl"))
            except FileNotFoundError:
                pass
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
        return entry

    def tail(self, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` entries, newest first."""
        entries: deque[dict[str, Any]] = deque(maxlen=limit)
        with self._lock:
            for path in (self.path.with_suffix(".1.jsonl"), self.path):
                try:
                    with path.open(encoding="utf-8") as handle:
                        for line in handle:
                            try:
                                entries.append(json.loads(line))
                            except ValueError:
                                continue  # a line cut short by a crash
                except FileNotFoundError:
                    continue
        return list(reversed(entries))


class Hub:
    """Server-sent events: ``publish`` from any thread; each ``/events`` stream reads its own queue.

    A reader that falls ``SUBSCRIBER_BACKLOG`` messages behind is dropped (its stream ends; browsers
    reconnect), so one slow client never holds memory for everyone.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscribers: set[asyncio.Queue[tuple[str, str] | None]] = set()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The event loop the streams run on (set when the app starts)."""
        self._loop = loop

    def subscribe(self) -> asyncio.Queue[tuple[str, str] | None] | None:
        """A new stream's queue, or None when there are ``MAX_SUBSCRIBERS`` already."""
        if len(self._subscribers) >= MAX_SUBSCRIBERS:
            return None
        queue: asyncio.Queue[tuple[str, str] | None] = asyncio.Queue(maxsize=SUBSCRIBER_BACKLOG)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[tuple[str, str] | None]) -> None:
        """Forget a stream that ended."""
        self._subscribers.discard(queue)

    @property
    def subscribers(self) -> int:
        """How many streams are open."""
        return len(self._subscribers)

    def publish(self, event: str, data: dict[str, Any]) -> None:
        """Send ``event`` with JSON ``data`` to every stream; safe to call from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        message = (event, json.dumps(data, sort_keys=True))
        try:
            loop.call_soon_threadsafe(self._deliver, message)
        except RuntimeError:  # the loop closed in between: nobody is listening any more
            return

    def _deliver(self, message: tuple[str, str]) -> None:
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                self._subscribers.discard(queue)
                while not queue.empty():  # make room for the end marker
                    queue.get_nowait()
                queue.put_nowait(None)
