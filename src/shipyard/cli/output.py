"""Small printing helpers shared by the commands: JSON on stdout, messages on stderr."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:  # pydantic is slow to import; commands that print no plan should not pay for it
    from shipyard.plan import Plan


def emit_json(data: Any) -> None:
    """Print ``data`` as stable, sorted JSON on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")


def say(message: str) -> None:
    """A message for people, on stderr, so stdout stays clean for machines."""
    print(message, file=sys.stderr)


def emit_plan(plan: Plan, as_json: bool) -> None:
    """Print a plan, as JSON or as text."""
    if as_json:
        sys.stdout.write(plan.to_json() + "\n")
    else:
        print(plan.to_text())


def exit_with(code: int) -> None:
    """Stop the command with an exit code (0 yes, 1 no, 2 bad input)."""
    raise typer.Exit(code)
