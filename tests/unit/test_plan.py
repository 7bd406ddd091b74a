"""Plans: one shape for what a command will change, as text and stable JSON, applied in order."""

from __future__ import annotations

import json

import pytest

from shipyard.plan import Action, Op, Plan, apply_plan


def test_text_and_json_forms() -> None:
    plan = Plan(command="shipyard demo")
    plan.add(Op.create, "overlays/dev/kustomization.yaml", "promotable state")
    plan.add(Op.tag, "user-service:v1.2.0", digest="sha256:abc", aliases=["stable", "latest"])
    plan.notes.append("dry run")
    assert plan.to_text().splitlines() == [
        "shipyard demo: 2 changes",
        "  create  overlays/dev/kustomization.yaml  (promotable state)",
        "  tag     user-service:v1.2.0",
        "  note: dry run",
    ]
    data = json.loads(json.dumps(plan.to_json()))
    assert data["actions"][1] == {
        "op": "tag",
        "target": "user-service:v1.2.0",
        "summary": "",
        "details": {"digest": "sha256:abc", "aliases": ["stable", "latest"]},
    }
    assert plan.to_json() == Plan.model_validate(plan.to_json()).to_json()


def test_empty_plan_says_nothing_to_change() -> None:
    assert Plan(command="x").to_text() == "x: nothing to change"


def test_apply_runs_handlers_in_order_with_progress() -> None:
    plan = Plan(command="x")
    plan.add(Op.create, "a")
    plan.add(Op.delete, "b")
    done: list[str] = []
    seen: list[tuple[int, int]] = []
    apply_plan(
        plan,
        {Op.create: lambda a: done.append(f"+{a.target}"), Op.delete: lambda a: done.append(f"-{a.target}")},
        progress=lambda i, n, _a: seen.append((i, n)),
    )
    assert done == ["+a", "-b"] and seen == [(1, 2), (2, 2)]


def test_apply_refuses_before_starting_when_a_handler_is_missing() -> None:
    plan = Plan(command="x", actions=[Action(op=Op.create, target="a"), Action(op=Op.push, target="b")])
    done: list[str] = []
    with pytest.raises(ValueError, match="no handler for operation"):
        apply_plan(plan, {Op.create: lambda a: done.append(a.target)})
    assert done == []
