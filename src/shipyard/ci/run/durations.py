"""Go's ``time.ParseDuration``, the format of every Tekton timeout (``1h30m``, ``90s``, ``1.5h``, ``300ms``)."""

from __future__ import annotations

import re

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"([0-9]+\.?[0-9]*|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(text: str) -> float | None:
    """Seconds, or None when ``text`` is not a Go duration. ``0`` alone is allowed; other numbers need a unit."""
    body = text[1:] if text[:1] in "+-" else text
    if body == "0":
        return 0.0
    if not body:
        return None
    seconds, position = 0.0, 0
    while position < len(body):
        match = _PART.match(body, position)
        if not match:
            return None
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    return -seconds if text.startswith("-") else seconds


def go_duration(seconds: float) -> str:
    """Seconds as Go prints a duration: ``3600`` -> ``1h0m0s``, ``90`` -> ``1m30s``, ``0.5`` -> ``500ms``."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    whole = round(seconds, 3)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{secs:g}s"
    if hours:
        return f"{int(hours)}h{int(minutes)}m{text}"
    return f"{int(minutes)}m{text}" if minutes else text
