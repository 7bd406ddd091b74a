"""How the pages lay out their data. Every page is rendered from exactly the JSON its path answers machines
(a library result's ``to_json()``); these pure functions only arrange that JSON for a template (rows of the
board, a service's timeline, a run's steps) and format times. They are the templates' globals
(``VIEW_HELPERS``), and are tested on their own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

MATURITIES = ("alpha", "beta", "stable")


def maturity(version: str | None) -> str:
    """The maturity class of a version (``alpha``, ``beta``, ``stable``, ``pr`` for a pull request's build)."""
    if not version:
        return "none"
    if version.startswith("pr-"):
        return "pr"
    for name in ("alpha", "beta"):
        if f"-{name}." in version:
            return name
    return "stable"


def parse_time(text: str | None) -> datetime | None:
    """An RFC 3339 / ISO 8601 time from the JSON; None when there is none or it cannot be read."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def when(text: str | None) -> str:
    """A time for people: ``2026-12-05 07:37 UTC``."""
    moment = parse_time(text)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else (text or "")


def duration(seconds: float | None) -> str:
    """A duration for people: ``6d 23h``, ``2h 5m``, ``40s``."""
    if seconds is None:
        return ""
    left = int(abs(seconds))
    days, left = divmod(left, 86400)
    hours, left = divmod(left, 3600)
    minutes, secs = divmod(left, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def until(end: str | None, now: str | None) -> str:
    """How long from ``now`` to ``end`` (``in 6d 23h``, or ``5h ago`` once passed)."""
    later, moment = parse_time(end), parse_time(now)
    if later is None or moment is None:
        return ""
    seconds = (later - moment).total_seconds()
    return f"in {duration(seconds)}" if seconds >= 0 else f"{duration(seconds)} ago"


def at(seconds: float | None) -> str:
    """A moment given as seconds since the epoch (the queue's records), for people."""
    if seconds is None:
        return ""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def size_text(count: int | None) -> str:
    """A size in bytes for people: ``812 bytes``, ``64 KiB``, ``3.2 MiB``."""
    if count is None:
        return ""
    if count < 1024:
        return f"{count} bytes"
    if count < 1024 * 1024:
        return f"{count / 1024:.0f} KiB"
    return f"{count / 1024 / 1024:.1f} MiB"


def short(text: str | None, size: int = 12) -> str:
    """The first ``size`` characters of an id or a digest (after ``sha256:``)."""
    if not text:
        return ""
    return text.removeprefix("sha256:")[:size]


def _service_of(image: str, services: set[str]) -> str | None:
    name = image.rsplit("/", 1)[-1]
    return name if name in services else None


def board_rows(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per service, for the board's columns: previews, every environment of ``status``, the sandbox.

    ``data`` is ``/board``'s JSON (``status``, ``previews``, ``sandbox``). A sandbox image is shown with the
    version of the environment cell that runs the same digest (the production it mirrors)."""
    status = data["status"]
    previews = data["previews"]["previews"]
    sandbox = data["sandbox"]
    environments: list[str] = status["environments"]
    services = set(status["services"]) | {s for p in previews for s in p["services"]}
    known = services | {i["name"].rsplit("/", 1)[-1] for i in sandbox["images"]}
    rows = []
    for service in sorted(known):
        cells = status["services"].get(service, {})
        mirrored = next(
            (i for i in sandbox["images"] if _service_of(i["name"], known) == service),
            None,
        )
        sandbox_cell = None
        if mirrored is not None:
            # The environment the sandbox mirrors first: another may run the same digest under a beta version.
            order = [cells[sandbox["source"]]] if sandbox["source"] in cells else []
            same = next((c for c in [*order, *cells.values()] if c["digest"] == mirrored["digest"]), None)
            sandbox_cell = {
                "digest": mirrored["digest"],
                "version": same["version"] if same else None,
                "maturity": same["maturity"] if same else None,
            }
        rows.append(
            {
                "service": service,
                "previews": [
                    {
                        "name": p["name"],
                        "pr": p["pr"],
                        "url": p["urls"].get(service),
                        "tag": p["tag"],
                        "expiresAt": p["expiresAt"],
                        "expired": p["expired"],
                    }
                    for p in previews
                    if service in p["services"]
                ],
                "environments": [(env, cells.get(env)) for env in environments],
                "sandbox": sandbox_cell,
            }
        )
    return rows


def timeline(trace: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A service's history as ``trace`` tells it, one entry per freight (newest move first): its source
    commit, pull request and version, each stage it entered (when and by whom), and where it runs now."""
    entries: dict[str, dict[str, Any]] = {}
    for placement in trace["environments"]:
        entry = entries.setdefault(
            placement["freight"],
            {
                "freight": placement["freight"],
                "sourceCommit": placement["sourceCommit"],
                "pr": placement["pr"],
                "releasePrs": placement.get("releasePrs", []),
                "versions": [],
                "path": [],
                "runsIn": [],
            },
        )
        entry["runsIn"].append(
            {
                "env": placement["env"],
                "version": placement["version"],
                "since": placement["since"],
                "rollback": placement["rollback"],
                "application": placement["application"],
            }
        )
        if placement["version"] not in entry["versions"]:
            entry["versions"].append(placement["version"])
        for hop in placement["path"]:
            if all(hop["commit"] != seen["commit"] for seen in entry["path"]):
                entry["path"].append(hop)
    found = list(entries.values())
    for entry in found:
        entry["path"].sort(key=lambda hop: parse_time(hop["date"]) or datetime.min.replace(tzinfo=UTC))
        # The versions it carried, in the order of its path (a beta, then its stable name in production).
        named = [hop["version"] for hop in entry["path"]] + entry["versions"]
        entry["versions"] = list(dict.fromkeys(named))
    return sorted(found, key=_latest, reverse=True)


def _latest(entry: Mapping[str, Any]) -> datetime:
    dates = [parse_time(hop["date"]) for hop in entry["path"]] + [parse_time(r["since"]) for r in entry["runsIn"]]
    known = [d for d in dates if d is not None]
    return max(known) if known else datetime.min.replace(tzinfo=UTC)


def run_steps(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every step of an embedded run's record, in order, with where it belongs (PipelineRun, task, TaskRun)."""
    outcome = record.get("outcome") or {}
    runs = (outcome.get("run") or {}).get("pipelineRuns") or []
    found = []
    for run in runs:
        for task in run.get("tasks") or []:
            for taskrun in task.get("taskRuns") or []:
                for step in taskrun.get("steps") or []:
                    found.append(
                        {
                            "pipelineRun": run.get("name"),
                            "task": task.get("name"),
                            "taskRun": taskrun.get("name"),
                            "step": step.get("name"),
                            "status": step.get("status"),
                            "exitCode": step.get("exitCode"),
                            "seconds": step.get("seconds"),
                            "hasLog": bool(step.get("log")),
                        }
                    )
    return found


VIEW_HELPERS: dict[str, Callable[..., Any]] = {
    "maturity": maturity,
    "when": when,
    "at": at,
    "size_text": size_text,
    "until": until,
    "duration": duration,
    "short": short,
    "board_rows": board_rows,
    "timeline": timeline,
    "run_steps": run_steps,
}
