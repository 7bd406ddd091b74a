"""The workers that take accepted deliveries off the queue: in arrival order, never two with the same key (a
ref, a pull request, an artifact) at once, at most ``concurrency`` at a time.

A delivery is done when its record is in ``done/``; until then it stays pending on disk, so a stop at any
moment loses nothing: the next start requeues it (the record says ``recovered``). A delivery interrupted
while running is therefore run again from its start; one that finished is never run again.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from shipyard.errors import ShipyardError
from shipyard.serve.events import EventLog, Hub
from shipyard.serve.queue import Delivery, DurableQueue

Process = Callable[[Delivery], dict[str, Any]]
log = logging.getLogger("shipyard.serve")


class Dispatcher:
    """Worker threads over the queue; ``submit`` hands them a delivery just accepted."""

    def __init__(self, queue: DurableQueue, process: Process, *, concurrency: int, events: EventLog, hub: Hub) -> None:
        self.queue = queue
        self.process = process
        self.concurrency = max(1, concurrency)
        self.events = events
        self.hub = hub
        self._ready: deque[Delivery] = deque()
        self._busy: dict[str, Delivery] = {}  # key -> the delivery running for it
        self._cond = threading.Condition()
        self._stopping = False
        self._threads: list[threading.Thread] = []

    def start(self, recovered: list[Delivery]) -> None:
        """Start the workers, first on what a previous run accepted and did not finish."""
        with self._cond:
            self._ready.extend(recovered)
        for index in range(self.concurrency):
            thread = threading.Thread(target=self._work, name=f"shipyard-serve-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def submit(self, delivery: Delivery) -> int:
        """Queue an accepted delivery; the number waiting before it."""
        with self._cond:
            ahead = len(self._ready)
            self._ready.append(delivery)
            self._cond.notify()
        return ahead

    def stop(self, timeout: float) -> None:
        """Stop taking deliveries; wait up to ``timeout`` for those running (the rest stay pending on disk)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout)

    def state(self) -> dict[str, Any]:
        """What is waiting and what is running now."""
        with self._cond:
            return {
                "waiting": [d.header() for d in self._ready],
                "running": [d.header() for d in self._busy.values()],
                "workers": self.concurrency,
            }

    @property
    def alive(self) -> bool:
        """True while every worker thread runs."""
        return bool(self._threads) and all(t.is_alive() for t in self._threads)

    def _take(self) -> Delivery | None:
        with self._cond:
            while True:
                if self._stopping:
                    return None
                for index, delivery in enumerate(self._ready):
                    if delivery.key not in self._busy:
                        del self._ready[index]
                        self._busy[delivery.key] = delivery
                        return delivery
                self._cond.wait()

    def _work(self) -> None:
        while (delivery := self._take()) is not None:
            try:
                self._run(delivery)
            finally:
                with self._cond:
                    self._busy.pop(delivery.key, None)
                    self._cond.notify_all()

    def _run(self, delivery: Delivery) -> None:
        summary = {"name": delivery.name, "source": delivery.source, "event": delivery.event, "key": delivery.key}
        self.hub.publish("run", {**summary, "state": "running"})
        self.events.append("started", **summary, recovered=delivery.recovered)
        try:
            outcome = self.process(delivery)
        except ShipyardError as exc:
            outcome = {"status": "failed", "reason": exc.message}
        except Exception as exc:  # a bug must not stop the worker; the delivery is recorded as failed
            log.exception("processing %s failed", delivery.name)
            outcome = {"status": "failed", "reason": f"internal error ({type(exc).__name__})"}
        try:
            self.queue.complete(delivery, outcome)
        except OSError:
            log.exception("cannot record %s as done; it stays pending", delivery.name)
            return
        status = str(outcome.get("status", "failed"))
        self.events.append("finished", **summary, status=status, reason=outcome.get("reason"))
        self.hub.publish("run", {**summary, "state": status})
