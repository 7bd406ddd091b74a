"""Small printing helpers shared by the commands: JSON on stdout, messages on stderr."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # plans pull in pydantic; commands that print none should not pay for it
    from shipyard.plan import Plan


# The help of every --config-repo option: promotions, previews and the sandbox find the repo the same way.
CONFIG_REPO_HELP = "The GitOps config repo (path or URL); default: repos.config of shipyard.yaml."


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
    raise SystemExit(code)
