"""Background: a value or an exception comes back to the caller."""

from __future__ import annotations

import threading

import pytest

from shipyard.background import Background


def test_the_value_comes_back_and_the_work_ran_on_another_thread() -> None:
    caller = threading.get_ident()
    work = Background(lambda: threading.get_ident())
    assert work.result() != caller


def test_an_exception_is_raised_in_the_caller() -> None:
    def fail() -> int:
        raise LookupError("no such ref")

    work = Background(fail)
    with pytest.raises(LookupError, match="no such ref"):
        work.result()
