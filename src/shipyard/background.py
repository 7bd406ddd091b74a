"""Running one function on a thread while the caller does something else.

Hot commands overlap work that waits on git processes with work that runs Python (loading the spec):
the git processes run on another core while the interpreter is busy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Background(Generic[T]):
    """``function()`` started on a daemon thread (so an error in the caller never waits for it)."""

    def __init__(self, function: Callable[[], T]) -> None:
        self._function = function
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._function()
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc

    def result(self) -> T:
        """Wait for the function; its value, or its exception raised here."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]
