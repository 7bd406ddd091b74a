"""The simple CHECK forms synthetic data honours, parsed from PostgreSQL's own rendering of them.

Understood (each possibly combined with AND, as BETWEEN is rendered):
``col > n``, ``col >= n``, ``col < n``, ``col <= n`` and ``col = ANY (ARRAY['a'::text, ...])`` (IN lists).
Anything else is reported, so a user knows which constraint the generator could not honour.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

_COMPARE = re.compile(r"(\"(?:[^\"]|\"\")+\"|\w+) (>=|>|<=|<) \(?'?(-?\d+(?:\.\d+)?)'?\)?(?:::[\w ]+)?", re.ASCII)
_IN = re.compile(r"(\"(?:[^\"]|\"\")+\"|\w+) = ANY \(ARRAY\[(.*)\]\)", re.ASCII | re.DOTALL)
_LITERAL = re.compile(r"'((?:[^']|'')*)'(?:::[\w ]+)?")


@dataclass
class Bounds:
    """What the CHECKs allow for one column."""

    low: Decimal | None = None
    low_inclusive: bool = True
    high: Decimal | None = None
    high_inclusive: bool = True
    choices: tuple[str, ...] = ()

    def tighten(self, op: str, value: Decimal) -> None:
        """Narrow the bounds with one comparison."""
        if op in (">", ">=") and (self.low is None or value >= self.low):
            self.low, self.low_inclusive = value, op == ">="
        elif op in ("<", "<=") and (self.high is None or value <= self.high):
            self.high, self.high_inclusive = value, op == "<="


@dataclass
class CheckInfo:
    """Bounds per column, and the CHECKs that were not understood."""

    bounds: dict[str, Bounds] = field(default_factory=dict)
    not_understood: list[str] = field(default_factory=list)
    unknown: set[str] = field(default_factory=set)  # names of the CHECKs not understood


def _unwrap(text: str) -> str:
    text = text.strip()
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    return text


def _balanced(text: str) -> bool:
    depth = 0
    quoted = False
    for char in text:
        if char == "'":
            quoted = not quoted
        elif not quoted:
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth < 0:
                return False
    return depth == 0


def _split_and(text: str) -> list[str]:
    parts, depth, quoted, start = [], 0, False, 0
    for index, char in enumerate(text):
        if char == "'":
            quoted = not quoted
        elif not quoted:
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth == 0 and text.startswith(" AND ", index):
                parts.append(text[start:index])
                start = index + 5
    parts.append(text[start:])
    return [_unwrap(p) for p in parts]


def _column(token: str) -> str:
    return token[1:-1].replace('""', '"') if token.startswith('"') else token


def parse_checks(definitions: list[tuple[str, str]]) -> CheckInfo:
    """Parse ``(name, pg_get_constraintdef)`` pairs into per-column bounds."""
    info = CheckInfo()
    for name, definition in definitions:
        body = definition.strip()
        if body.endswith(" NOT VALID"):
            body = body[: -len(" NOT VALID")]
        if not body.startswith("CHECK "):
            info.not_understood.append(f"{name}: {definition}")
            info.unknown.add(name)
            continue
        understood = True
        for part in _split_and(_unwrap(body[len("CHECK ") :])):
            compare = _COMPARE.fullmatch(part)
            found_in = _IN.fullmatch(part)
            if compare:
                column, op, value = compare.groups()
                info.bounds.setdefault(_column(column), Bounds()).tighten(op, Decimal(value))
            elif found_in:
                column, items = found_in.groups()
                values = tuple(v.replace("''", "'") for v in _LITERAL.findall(items))
                info.bounds.setdefault(_column(column), Bounds()).choices = values
            else:
                understood = False
        if not understood:
            info.not_understood.append(f"{name}: {definition}")
            info.unknown.add(name)
    return info
