"""How long work reports progress: a callback the caller may pass, never a display.

Libraries call ``progress(task, done, total)`` as units of work finish (``total`` None when unknown).
The CLI turns the calls into a progress bar on a terminal, and into nothing for machines; nothing
below the CLI knows which.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

Progress = Callable[[str, int, "int | None"], None]


class Counter:
    """Counts finished units of one task and reports each to ``progress``; safe to call from threads."""

    def __init__(self, progress: Progress | None, task: str, total: int | None) -> None:
        self.progress = progress
        self.task = task
        self.total = total
        self.done = 0
        self._lock = threading.Lock()

    def start(self) -> None:
        """Report the task before its first unit finishes, so a display can show it waiting."""
        if self.progress is not None:
            self.progress(self.task, 0, self.total)

    def step(self, units: int = 1) -> None:
        """Count ``units`` more as done and report the new count."""
        if self.progress is None:
            return
        with self._lock:
            self.done += units
            self.progress(self.task, self.done, self.total)
