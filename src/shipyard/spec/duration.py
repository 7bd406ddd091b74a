"""Durations as people write them in the spec: ``90s``, ``10m``, ``24h``, ``7d``, ``2w``, or combined (``1d12h``)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator

_PART = re.compile(r"([0-9]+)([smhdw])")
_WHOLE = re.compile(r"(?:[0-9]+[smhdw])+")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """Parse a duration such as ``7d`` or ``1h30m``; raise ValueError naming the valid forms."""
    if not isinstance(text, str) or not _WHOLE.fullmatch(text):
        raise ValueError(f"'{text}' is not a duration; write a number and a unit, e.g. 90s, 10m, 24h, 7d, 2w")
    seconds = sum(int(n) * _SECONDS[unit] for n, unit in _PART.findall(text))
    if seconds <= 0:
        raise ValueError(f"'{text}' is not a positive duration")
    return timedelta(seconds=seconds)


def _check(text: str) -> str:
    parse_duration(text)
    return text


Duration = Annotated[str, AfterValidator(_check)]
"""A duration kept as written (so it round-trips into annotations) but checked on load."""
