"""Time in one place: strict RFC 3339 timestamps and the durations people write (``90s``, ``7d``, ``1d12h``).

Timestamps are read strictly because a wrong reading can delete a live preview or end a sandbox early:
an RFC 3339 date-time with its ``T`` and its offset (``Z`` or ``+hh:mm``), nothing before it and
nothing after it, not even a newline. A moment is always handed out in UTC, and a moment Python cannot
hold once in UTC (``0001-01-01T00:00:00+01:00`` is in year 0) is refused like any other bad value, so
callers never meet an ``OverflowError`` from a parsed timestamp itself. Adding a duration to a moment
can still run past the year 9999: callers that add say so (``add``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?"
    r"(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))"
)
# Twelve digits a part is far beyond any real duration and keeps int() away from huge strings.
_DURATION = re.compile(r"(?:[0-9]{1,12}[smhdw])+")
_PART = re.compile(r"([0-9]+)([smhdw])")
_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_LONGEST = timedelta.max.days * 86400  # seconds; beyond this a timedelta cannot hold it


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 timestamp (``T`` separator, offset or ``Z`` required) into an aware UTC datetime.

    Stricter than ``datetime.fromisoformat``: a date alone, a missing offset, the basic ISO format, a
    leap second, surrounding space or a trailing newline are refused with ValueError, and so is a moment
    outside the years 0001 to 9999 once in UTC.
    """
    match = _RFC3339.fullmatch(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"{text!r} is not an RFC 3339 timestamp such as 2024-11-14T15:30:45Z")
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    if zulu:
        offset = timedelta(0)
    else:
        if int(off_h) > 23 or int(off_m) > 59:
            raise ValueError(f"{text!r} has an invalid UTC offset")
        offset = timedelta(hours=int(off_h), minutes=int(off_m)) * (1 if sign == "+" else -1)
    try:
        local = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=UTC)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid date and time: {exc}") from None
    try:
        return local - offset
    except OverflowError:
        raise ValueError(f"{text!r} falls outside the years 0001 to 9999 in UTC") from None


def format_rfc3339(moment: datetime) -> str:
    """A moment as RFC 3339 in UTC with a ``Z``, to the second (``2024-11-14T15:30:45Z``)."""
    if moment.tzinfo is None:
        raise ValueError("a timestamp needs a time zone")
    utc = moment.astimezone(UTC)
    # strftime's %Y does not pad years before 1000 on every platform; RFC 3339 needs four digits.
    return f"{utc.year:04d}-{utc:%m-%dT%H:%M:%S}Z"


def parse_duration(text: str) -> timedelta:
    """Parse a duration such as ``7d`` or ``1h30m`` (units w, d, h, m, s); ValueError naming the valid forms."""
    if not isinstance(text, str) or not _DURATION.fullmatch(text):
        raise ValueError(f"{text!r} is not a duration; write a number and a unit, e.g. 90s, 10m, 24h, 7d, 2w")
    seconds = sum(int(n) * _SECONDS[unit] for n, unit in _PART.findall(text))
    if seconds <= 0:
        raise ValueError(f"{text!r} is not a positive duration")
    if seconds > _LONGEST:
        raise ValueError(f"{text!r} is longer than any duration Shipyard can keep")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta | float) -> str:
    """A duration (a timedelta or seconds) as ``parse_duration`` reads it, to the second: ``1d3h46m40s``."""
    total = round(delta.total_seconds() if isinstance(delta, timedelta) else delta)
    if total <= 0:
        return "0s"
    parts = []
    for unit, size in _SECONDS.items():
        count, total = divmod(total, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def add(moment: datetime, delta: timedelta) -> datetime:
    """``moment + delta``; ValueError (not OverflowError) when that runs past the years datetime holds."""
    try:
        return moment + delta
    except OverflowError:
        raise ValueError(f"{format_rfc3339(moment)} plus {format_duration(delta)} runs past the year 9999") from None
