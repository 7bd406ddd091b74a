"""Filters over a webhook body, written once and used twice: evaluated here by ``ci plan``, and compiled to the
CEL expressions of the rendered EventListener. One definition is what keeps the two decisions the same.

Evaluation follows CEL's rules for errors: a missing field is an error, ``false && error`` is false,
``true || error`` is true, and a filter that ends in an error does not fire.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

# None stands for a CEL evaluation error (a field that is not there).
Truth = bool | None


class Condition(Protocol):
    """A filter over ``body``."""

    def holds(self, body: Any) -> Truth:
        """True/False, or None where CEL would raise an error."""
        ...

    def cel(self) -> str:
        """The same filter as a CEL expression over ``body``."""
        ...


class _Missing(Exception):
    pass


def _get(body: Any, path: str) -> Any:
    value = body
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            raise _Missing(path)
        value = value[part]
    return value


def _literal(value: str | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    # CEL string literals accept JSON's escapes for the characters branch names can hold.
    return "'" + json.dumps(value)[1:-1].replace("'", "\\'") + "'"


@dataclass(frozen=True)
class Eq:
    """``body.<path> == value``."""

    path: str
    value: str | bool

    def holds(self, body: Any) -> Truth:
        try:
            found = _get(body, self.path)
        except _Missing:
            return None
        # CEL compares across types as unequal (it never coerces), and bool is not an int there.
        return type(found) is type(self.value) and found == self.value

    def cel(self) -> str:
        return f"body.{self.path} == {_literal(self.value)}"


@dataclass(frozen=True)
class OneOf:
    """``body.<path> in [values]``."""

    path: str
    values: tuple[str, ...]

    def holds(self, body: Any) -> Truth:
        try:
            found = _get(body, self.path)
        except _Missing:
            return None
        return isinstance(found, str) and found in self.values

    def cel(self) -> str:
        return f"body.{self.path} in [{', '.join(_literal(v) for v in self.values)}]"


@dataclass(frozen=True)
class StartsWith:
    """``body.<path>.startsWith(prefix)``."""

    path: str
    prefix: str

    def holds(self, body: Any) -> Truth:
        try:
            found = _get(body, self.path)
        except _Missing:
            return None
        if not isinstance(found, str):
            return None  # CEL has no startsWith on other types: an error
        return found.startswith(self.prefix)

    def cel(self) -> str:
        return f"body.{self.path}.startsWith({_literal(self.prefix)})"


@dataclass(frozen=True)
class IsType:
    """``type(body.<path>) == <kind>``: ``map`` (a JSON object) or ``string``; ``null`` is neither."""

    path: str
    kind: str

    def holds(self, body: Any) -> Truth:
        try:
            found = _get(body, self.path)
        except _Missing:
            return None
        return isinstance(found, dict) if self.kind == "map" else isinstance(found, str)

    def cel(self) -> str:
        return f"type(body.{self.path}) == {self.kind}"


@dataclass(frozen=True)
class Equal:
    """``body.<a> == body.<b>``, for two strings.

    CEL engines differ on comparing other types (cel-go answers false, cel-python raises), so it is only used
    behind ``IsType(..., "string")`` guards of both sides; unguarded, any other pair counts as an error here.
    """

    a: str
    b: str

    def holds(self, body: Any) -> Truth:
        try:
            left, right = _get(body, self.a), _get(body, self.b)
        except _Missing:
            return None
        if isinstance(left, str) and isinstance(right, str):
            return left == right
        return None

    def cel(self) -> str:
        return f"body.{self.a} == body.{self.b}"


@dataclass(frozen=True)
class Not:
    """The part does not hold (CEL ``!``); an error stays an error."""

    part: Condition

    def holds(self, body: Any) -> Truth:
        result = self.part.holds(body)
        return None if result is None else not result

    def cel(self) -> str:
        return f"!({self.part.cel()})"


@dataclass(frozen=True)
class All:
    """Every part holds (CEL ``&&``)."""

    parts: tuple[Condition, ...]

    def holds(self, body: Any) -> Truth:
        results = [p.holds(body) for p in self.parts]
        if any(r is False for r in results):
            return False
        return None if any(r is None for r in results) else True

    def cel(self) -> str:
        return " && ".join(f"({p.cel()})" if isinstance(p, Any_) else p.cel() for p in self.parts)


@dataclass(frozen=True)
class Any_:  # noqa: N801 - `Any` is typing's
    """Some part holds (CEL ``||``)."""

    parts: tuple[Condition, ...]

    def holds(self, body: Any) -> Truth:
        results = [p.holds(body) for p in self.parts]
        if any(r is True for r in results):
            return True
        return None if any(r is None for r in results) else False

    def cel(self) -> str:
        return " || ".join(f"({p.cel()})" if isinstance(p, All) else p.cel() for p in self.parts)


@dataclass(frozen=True)
class TouchesPath:
    """A push whose commits add, change or remove a file under ``prefix``.

    GitHub lists at most ``limit`` commits in a push payload; a push that reaches the limit may hide more
    changes, so it counts as touching (the pipeline's own ``shipyard affected`` step then decides).
    """

    prefix: str
    limit: int = 2048

    def holds(self, body: Any) -> Truth:
        try:
            commits = _get(body, "commits")
        except _Missing:
            return None
        if not isinstance(commits, list):
            return None
        if len(commits) >= self.limit:
            return True
        for commit in commits:
            if not isinstance(commit, dict):
                return None
            for key in ("added", "modified", "removed"):
                files = commit.get(key)
                if isinstance(files, list) and any(isinstance(f, str) and f.startswith(self.prefix) for f in files):
                    return True
        return False

    def cel(self) -> str:
        prefix = _literal(self.prefix)
        touched = " || ".join(
            f"(has(c.{key}) && c.{key}.exists(f, f.startsWith({prefix})))" for key in ("added", "modified", "removed")
        )
        return f"(size(body.commits) >= {self.limit} || body.commits.exists(c, {touched}))"
