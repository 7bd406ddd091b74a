"""Progress of long work for people: rich bars on stderr when it is a terminal and the output is for people.

With ``-o json``/``-o yaml``, or when stderr is not a terminal (CI logs, pipes), nothing is drawn: the
libraries get no callback at all.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from shipyard.cli.output import is_machine

if TYPE_CHECKING:
    from shipyard.plan.progress import Progress


def wanted(output: str) -> bool:
    """True when progress would be drawn: output for people and a terminal on stderr."""
    return not is_machine(output) and sys.stderr.isatty()


@contextmanager
def progress_bars(output: str) -> Iterator[Progress | None]:
    """A ``Progress`` callback drawing one bar per task while the block runs, or None when not ``wanted``."""
    if not wanted(output):
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bars

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    tasks: dict[str, TaskID] = {}
    lock = threading.Lock()  # libraries report from worker threads
    with Bars(*columns, TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bars:

        def report(task: str, done: int, total: int | None) -> None:
            with lock:
                if task not in tasks:
                    tasks[task] = bars.add_task(task, total=total)
                bars.update(tasks[task], completed=done, total=total)

        yield report
