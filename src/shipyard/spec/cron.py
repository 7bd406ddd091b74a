"""Cron schedules as Kubernetes CronJobs read them: five fields, or one of the ``@`` macros.

The schedules of the spec are rendered into CronJobs, so one that Kubernetes would refuse (a sixth
field, trailing text, a minute of 60) is refused when the spec loads instead of when Argo CD syncs.
"""

from __future__ import annotations

import re

MACROS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
_MONTHS = {
    name: index
    for index, name in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
_DAYS = {name: index for index, name in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
# (name, lowest, highest, names)
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
_ITEM = re.compile(r"(?P<range>\*|\?|(?P<low>[0-9a-z]+)(?:-(?P<high>[0-9a-z]+))?)(?:/(?P<step>[0-9]+))?", re.ASCII)


def _value(text: str, low: int, high: int, names: dict[str, int], field: str) -> int:
    value = names.get(text.lower()) if not text.isdigit() else int(text) if len(text) <= 2 else None
    if value is None or not low <= value <= high:
        raise ValueError(f"{field} '{text}' is out of range; valid: {low}-{high}")
    return value


def cron_problem(schedule: str) -> str | None:
    """Why ``schedule`` is not a cron schedule a Kubernetes CronJob accepts, or None."""
    if schedule in MACROS:
        return None
    if schedule != schedule.strip() or any(c in schedule for c in "\r\n\t") or "  " in schedule:
        return f"{schedule!r} is not a cron schedule: five fields separated by single spaces"
    fields = schedule.split(" ")
    if len(fields) != 5:
        return f"'{schedule}' has {len(fields)} fields; a cron schedule has five: minute hour day month weekday"
    for text, (field, low, high, names) in zip(fields, _FIELDS, strict=True):
        for item in text.split(","):
            match = _ITEM.fullmatch(item)
            if not match:
                return f"'{schedule}': {field} '{item}' is not *, a number, a range or a step such as */6"
            try:
                if match["low"] is not None:
                    first = _value(match["low"], low, high, names, field)
                    if match["high"] is not None and _value(match["high"], low, high, names, field) < first:
                        return f"'{schedule}': {field} range '{item}' runs backwards"
            except ValueError as exc:
                return f"'{schedule}': {exc}"
            if match["step"] is not None and not 1 <= int(match["step"][:3]) <= high:
                return f"'{schedule}': {field} step '{match['step']}' is out of range; valid: 1-{high}"
            if match["range"] == "?" and field not in ("day of month", "day of week"):
                return f"'{schedule}': '?' is allowed only for the day of month or week"
    return None
