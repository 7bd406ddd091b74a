"""One shape for every command's changes: a list of typed actions, printable as text or JSON.

Commands compute a Plan without side effects, then hand it to ``apply_plan`` with one handler per
operation. Dry runs print the same Plan that a real run applies, so what you see is what happens.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Op(StrEnum):
    """What an action does to its target."""

    create = "create"
    update = "update"
    delete = "delete"
    tag = "tag"
    commit = "commit"
    push = "push"
    publish = "publish"
    run = "run"


class Action(BaseModel):
    """One change: an operation on a target (a file, a tag, a ref, a remote object), with details."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    op: Op
    target: str
    summary: str = ""
    details: dict[str, str | int | bool | list[str] | None] = Field(default_factory=dict)

    def line(self) -> str:
        """A one-line human description."""
        text = f"{self.op.value:<7} {self.target}"
        return f"{text}  ({self.summary})" if self.summary else text


class Plan(BaseModel):
    """The actions a command will take, in order. An empty plan means nothing needs to change."""

    model_config = ConfigDict(extra="forbid")

    command: str
    actions: list[Action] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when applying the plan would change nothing."""
        return not self.actions

    def add(self, op: Op, target: str, summary: str = "", **details: str | int | bool | list[str] | None) -> Action:
        """Append an action and return it."""
        action = Action(op=op, target=target, summary=summary, details=details)
        self.actions.append(action)
        return action

    def to_text(self) -> str:
        """The plan as people read it: one line per action, then notes."""
        if self.empty:
            lines = [f"{self.command}: nothing to change"]
        else:
            count = len(self.actions)
            lines = [f"{self.command}: {count} change{'s' if count != 1 else ''}"]
            lines += [f"  {action.line()}" for action in self.actions]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """The plan as JSON data, for machines."""
        return self.model_dump(mode="json")


Handler = Callable[[Action], None]


def apply_plan(
    plan: Plan, handlers: Mapping[Op, Handler], progress: Callable[[int, int, Action], None] | None = None
) -> None:
    """Apply each action with the handler for its operation, in order, reporting progress.

    Every operation the plan uses must have a handler before anything runs, so a plan is never
    half-applied for want of one.
    """
    missing = sorted({a.op.value for a in plan.actions} - {op.value for op in handlers})
    if missing:
        raise ValueError(f"no handler for operation(s): {', '.join(missing)}")
    total = len(plan.actions)
    for index, action in enumerate(plan.actions, 1):
        if progress:
            progress(index, total, action)
        handlers[action.op](action)
