"""Errors meant for people: each carries where it happened and what would be valid.

Library code raises these; only the CLI turns them into messages and exit codes, so a user's
mistake never ends in a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field


class ShipyardError(Exception):
    """Base of every error Shipyard reports to a user. ``exit_code`` follows the design's convention."""

    exit_code: int = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


@dataclass(frozen=True)
class Location:
    """A place in a file, 1-based, as editors show it."""

    file: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.file
        if self.column is None:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file: where, which field, what, and what would be valid."""

    location: Location
    field: str
    message: str
    valid: str | None = None
    suggestion: str | None = None
    extra: dict[str, str] = dataclass_field(default_factory=dict)

    def __str__(self) -> str:
        text = f"{self.location}: {self.field}: {self.message}"
        if self.suggestion:
            text += f" (did you mean '{self.suggestion}'?)"
        if self.valid:
            text += f"; valid: {self.valid}"
        return text


class SpecError(ShipyardError):
    """The platform spec cannot be loaded; lists every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = [str(p) for p in problems]
        super().__init__("invalid platform spec:\n  " + "\n  ".join(lines) if len(lines) > 1 else lines[0])


class WorkspaceError(ShipyardError):
    """The monorepo on disk breaks a rule (a dependency cycle, a malformed package.json)."""
