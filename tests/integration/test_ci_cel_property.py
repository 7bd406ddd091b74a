"""Property: for any push or pull_request body, the CEL filters compiled from the route table (evaluated by
cel-python) fire exactly the pipelines ``ci plan`` plans, including bodies with missing or odd fields."""

from __future__ import annotations

from typing import Any

import celpy
import pytest
from celpy.adapter import json_to_cel
from celpy.evaluation import CELEvalError
from hypothesis import given, settings
from hypothesis import strategies as st

from shipyard.render.tekton.routes import ROUTES, plan_event

pytestmark = pytest.mark.integration

_ENV = celpy.Environment()
_PROGRAMS = [(r.pipeline, r.event, _ENV.program(_ENV.compile(r.condition.cel()))) for r in ROUTES]

refs = st.sampled_from(
    [
        "refs/heads/develop",
        "refs/heads/main",
        "refs/heads/release/v1.2.0",
        "refs/heads/hotfix/x",
        "refs/heads/feature/a-b",
        "refs/heads/developer",
        "refs/tags/v1.0.0",
        "refs/heads/main/x",
        "",
    ]
) | st.text(max_size=30)
files = st.lists(
    st.sampled_from(["packages/a/x.ts", "services/s/a.js", "README.md", "packages", "xpackages/a"]), max_size=3
)
commit = st.fixed_dictionaries({}, optional={"added": files, "modified": files, "removed": files})
push = st.fixed_dictionaries(
    {"after": st.just("a" * 40), "repository": st.just({"clone_url": "u", "full_name": "o/r"})},
    optional={
        "ref": refs,
        "deleted": st.booleans() | st.none(),
        "before": st.just("b" * 40),
        "commits": st.lists(commit, max_size=3),
    },
)
# A pull request's head and base repositories: the same one, a fork, a deleted fork (null), odd values.
full_names = st.sampled_from(["o/r", "fork/r"]) | st.none() | st.integers(0, 3) | st.booleans()
repo = st.none() | st.fixed_dictionaries({}, optional={"full_name": full_names}) | st.sampled_from(["o/r", 1])
head = st.fixed_dictionaries({"sha": st.just("c" * 40), "ref": st.just("feature/a-b")}, optional={"repo": repo})
base = st.fixed_dictionaries({"ref": st.just("develop")}, optional={"repo": repo})
pull_request = st.fixed_dictionaries(
    {"number": st.integers(1, 10_000), "repository": st.just({"clone_url": "u", "full_name": "o/r"})},
    optional={
        "action": st.sampled_from(["opened", "synchronize", "reopened", "closed", "labeled", "edited", ""]) | st.none(),
        "pull_request": st.fixed_dictionaries({"head": head, "base": base}),
    },
)


def _fired(event: str, body: dict[str, Any]) -> list[str]:
    activation = {"body": json_to_cel(body)}
    names = []
    for name, route_event, program in _PROGRAMS:
        if route_event != event:
            continue
        try:
            result = program.evaluate(activation)
        except CELEvalError:
            continue
        if isinstance(result, celpy.celtypes.BoolType) and bool(result):
            names.append(name)
    return names


@settings(max_examples=150, deadline=None)
@given(body=push)
def test_push_filters_agree(body: dict[str, Any]) -> None:
    assert _fired("push", body) == [name for name, _ in plan_event("push", body).pipelines]


@settings(max_examples=200, deadline=None)
@given(body=pull_request)
def test_pull_request_filters_agree(body: dict[str, Any]) -> None:
    assert _fired("pull_request", body) == [name for name, _ in plan_event("pull_request", body).pipelines]
