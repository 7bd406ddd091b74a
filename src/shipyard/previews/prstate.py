"""Pull request states for the clean-up, read so that only positive evidence counts.

A PR is "closed" only when the source says so in so many words (``closed`` or ``merged``). A file that
cannot be read or parsed, an entry that is malformed, a state we do not know: all of these mean
"unknown", and an unknown PR is never cleaned up for being closed (its TTL still applies).

Accepted file shapes (JSON): ``{"42": "closed", "43": "open"}``; or a list of objects with ``number``
and ``state`` (GitHub's pulls API: ``state`` open/closed, optional ``merged``; ``gh pr list --json
number,state``: OPEN/CLOSED/MERGED).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_CLOSED = {"closed", "merged"}
_OPEN = {"open", "draft"}


@dataclass(frozen=True)
class PrStates:
    """Known PR states by number; ``problems`` says what could not be read (never turned into "closed")."""

    source: str
    states: dict[int, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    def is_closed(self, number: int) -> bool:
        """True only when the source positively said this PR is closed or merged."""
        return self.states.get(number) == "closed"

    def to_json(self) -> dict[str, Any]:
        """For JSON output."""
        return {
            "source": self.source,
            "closed": sorted(n for n, s in self.states.items() if s == "closed"),
            "open": sorted(n for n, s in self.states.items() if s == "open"),
            "problems": list(self.problems),
        }


# Asked for the PR numbers whose state matters, answers with what it positively knows (a GitHub lookup).
PrStateLookup = Callable[[Sequence[int]], PrStates]


def _state_word(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    word = value.strip().lower()
    return "closed" if word in _CLOSED else "open" if word in _OPEN else None


def _number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value > 0:
        return value
    if isinstance(value, str) and re.fullmatch(r"[1-9][0-9]{0,9}", value):
        return int(value)
    return None


def parse_pr_states(data: Any, source: str) -> PrStates:
    """PR states from already-decoded JSON; malformed entries are listed in ``problems`` and left unknown."""
    states: dict[int, str] = {}
    problems: list[str] = []
    entries: list[tuple[Any, Any]]
    if isinstance(data, dict):
        entries = list(data.items())
    elif isinstance(data, list):
        entries = []
        for index, item in enumerate(data):
            if not isinstance(item, dict):
                problems.append(f"entry {index} is not an object")
                continue
            state = item.get("state")
            if item.get("merged") is True or item.get("mergedAt") or item.get("merged_at"):
                state = "merged"
            entries.append((item.get("number"), state))
    else:
        return PrStates(source, {}, (f"{source}: expected a JSON object or list of pull requests",))
    for raw_number, raw_state in entries:
        number, state = _number(raw_number), _state_word(raw_state)
        if number is None:
            problems.append(f"{raw_number!r} is not a pull request number")
        elif state is None:
            problems.append(f"PR {number}: unknown state {raw_state!r}")
        elif states.get(number, state) != state:
            # Contradicting evidence is no evidence.
            problems.append(f"PR {number}: contradicting states")
            states[number] = "unknown"
        else:
            states[number] = state
    return PrStates(source, {n: s for n, s in states.items() if s != "unknown"}, tuple(problems))


def read_pr_states(path: Path) -> PrStates:
    """PR states from a JSON file; a file that cannot be read or parsed gives no states and a problem."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return PrStates(str(path), {}, (f"cannot read {path}: {exc.strerror}",))
    except (ValueError, UnicodeDecodeError) as exc:
        return PrStates(str(path), {}, (f"{path} is not JSON: {exc}",))
    return parse_pr_states(data, str(path))
