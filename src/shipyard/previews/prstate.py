"""Pull request states for the clean-up, read so that only positive evidence counts.

A PR is "closed" only when the source says so in so many words (``closed`` or ``merged``). An entry
that is malformed or a state we do not know means "unknown", and an unknown PR is never cleaned up for
being closed (its TTL still applies). A file that cannot be read at all (missing, not JSON, over
``MAX_PR_STATE_BYTES``, nested too deeply, neither an object nor a list) is refused with exit 2 before
the clean-up starts: the command was asked to act on it and does not understand it.

Accepted file shapes (JSON): ``{"42": "closed", "43": "open"}``; or a list of objects with ``number``
and ``state`` (GitHub's pulls API: ``state`` open/closed, optional ``merged``; ``gh pr list --json
number,state``: OPEN/CLOSED/MERGED).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.bounded import MIB, read_json
from shipyard.errors import ShipyardError

MAX_PR_STATE_BYTES = 16 * MIB
"""The size limit of a PR state file (GitHub's listing of every pull request of a big repository fits)."""
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
    """PR states from a JSON file; a ShipyardError when the file cannot be read or is not JSON of either shape."""
    data = read_json(path, MAX_PR_STATE_BYTES, f"the PR state file {path}")
    if not isinstance(data, dict | list):
        raise ShipyardError(
            f"the PR state file {path} holds {type(data).__name__}, not pull requests",
            hint='write {"42": "closed"} or a list of objects with number and state (gh pr list --json number,state)',
        )
    return parse_pr_states(data, str(path))
