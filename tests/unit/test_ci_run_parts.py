"""The parts of ``ci run`` that read Tekton's and Kubernetes' small languages: variable substitution, matrix
fan-out, Kubernetes env expansion, Go durations, TriggerBinding JSONPath and the template's param escaping."""

from __future__ import annotations

import itertools
import json
import os
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipyard.ci.run.bindings import BindingError, apply_template, evaluate, expressions, go_json, resolve_params
from shipyard.ci.run.durations import go_duration, parse_duration
from shipyard.ci.run.errors import TektonInputError, UnsupportedFeature
from shipyard.ci.run.matrix import fan_out
from shipyard.ci.run.process import StepProcess, kube_expand, script_text
from shipyard.ci.run.process import run as run_process
from shipyard.ci.run.variables import Scope, parse

SCOPE = Scope({"params.a": "A", "params.list": ["x", "y"], "tasks.t.results.r": "R", "workspaces.w.path": "/w"})


def test_every_spelling_of_a_reference_is_substituted_and_the_rest_is_left() -> None:
    text = "$(params.a) $(params['a']) $(params[\"a\"]) $(params.list[1]) $(tasks.t.results.r) $(workspaces.w.path)"
    assert SCOPE.string(text) == "A A A y R /w"
    assert (
        SCOPE.string("$(git rev-parse HEAD) $(params.other) $((1+2))")
        == "$(git rev-parse HEAD) $(params.other) $((1+2))"
    )
    assert parse("params['a'][*]").subscript == "*"


def test_whole_arrays_stand_alone_and_are_spliced_into_arrays() -> None:
    assert SCOPE.value("$(params.list[*])") == ["x", "y"]
    assert SCOPE.value("$(params.list)") == ["x", "y"]
    assert SCOPE.value(["first", "$(params.list[*])", "$(params.a)"]) == ["first", "x", "y", "A"]
    with pytest.raises(TektonInputError, match="whole array"):
        SCOPE.string("all: $(params.list[*])")
    with pytest.raises(TektonInputError, match="out of range"):
        SCOPE.string("$(params.list[2])")
    with pytest.raises(UnsupportedFeature, match="object params"):
        SCOPE.string("$(params.a.key)")


def test_a_substituted_value_is_not_substituted_again() -> None:
    assert Scope({"params.a": "$(params.b)", "params.b": "B"}).string("$(params.a)") == "$(params.b)"


@given(st.text())
def test_text_without_references_is_unchanged(text: str) -> None:
    if "$(" not in text:
        assert SCOPE.string(text) == text


def test_matrix_fan_out_follows_tekton_order_and_include_rules() -> None:
    combos = fan_out(
        [("platform", ["linux", "mac"]), ("browser", ["safari", "chrome"])],
        [{"platform": "linux", "url": "some-url"}, {"browser": "i-do-not-exist"}],
    )
    assert combos == [
        {"platform": "linux", "browser": "safari", "url": "some-url"},
        {"platform": "mac", "browser": "safari"},
        {"platform": "linux", "browser": "chrome", "url": "some-url"},
        {"platform": "mac", "browser": "chrome"},
        {"browser": "i-do-not-exist"},
    ]
    assert fan_out([], [{"image": "a"}, {"image": "b"}]) == [{"image": "a"}, {"image": "b"}]


@given(st.lists(st.lists(st.text(max_size=3), min_size=1, max_size=3, unique=True), min_size=1, max_size=3))
def test_matrix_params_alone_make_the_cross_product(values: list[list[str]]) -> None:
    params = [(f"p{i}", v) for i, v in enumerate(values)]
    combos = fan_out(params, [])
    # The first param varies fastest: the product of the reversed lists, read back in param order.
    expected = [
        {f"p{i}": c[len(values) - 1 - i] for i in range(len(values))} for c in itertools.product(*reversed(values))
    ]
    assert combos == expected


def test_kubernetes_expands_earlier_env_vars_and_unescapes_dollars() -> None:
    defined = {"A": "1"}
    assert kube_expand("$(A) $(B) $$(A) $$ $x $(", defined) == "1 $(B) $(A) $ $x $("


@given(st.text())
def test_an_escaped_value_survives_kubernetes_expansion(text: str) -> None:
    assert kube_expand(text.replace("$", "$$"), {"A": "1"}) == text


def test_a_script_without_shebang_gets_tektons_preamble() -> None:
    assert script_text("echo hi\n") == "#!/bin/sh\nset -e\necho hi\n"
    assert script_text("  #!/usr/bin/env python3\nprint(1)\n").startswith("  #!/usr/bin/env python3")


@pytest.mark.parametrize(
    ("text", "seconds"), [("1h30m", 5400.0), ("90s", 90.0), ("1.5h", 5400.0), ("300ms", 0.3), ("0", 0.0)]
)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "10", "1d", "h", "1h 30m"])
def test_not_go_durations(text: str) -> None:
    assert parse_duration(text) is None


@given(st.integers(min_value=1, max_value=10**7))
def test_go_duration_round_trip(milliseconds: int) -> None:
    assert parse_duration(go_duration(milliseconds / 1000)) == pytest.approx(milliseconds / 1000)


EVENT = {
    "body": {"number": 42, "deleted": False, "ref": 'refs/heads/a"b', "repo": {"x.y": "dotted"}, "list": ["p", "q"]},
    "header": {"X-Github-Event": "push"},
    "extensions": {},
    "context": {"eventID": "e1"},
}


def test_binding_expressions_print_as_triggers_prints_them() -> None:
    assert evaluate("$(body.number)", EVENT) == "42"
    assert evaluate("$(body.deleted)", EVENT) == "false"
    assert evaluate("$(body.ref)", EVENT) == 'refs/heads/a\\"b'  # JSON-escaped, to sit inside the template
    assert evaluate("$(body.repo.x\\.y)", EVENT) == "dotted"
    assert evaluate("$(body.list[1])", EVENT) == "q"
    assert evaluate("$(header.x-github-event)", EVENT) == "push"
    assert evaluate("$(.body.list)", EVENT) == '["p","q"]'
    assert evaluate("$(context.eventID)", EVENT) == "e1"
    with pytest.raises(BindingError):
        evaluate("$(body.missing)", EVENT)
    with pytest.raises(UnsupportedFeature, match="JSONPath"):
        evaluate("$(body.list[*])", EVENT)
    assert go_json({"b": 1.0, "a": [1e21, 1e-7, 0.5, None]}) == '{"a":[1e+21,1e-7,0.5,null],"b":1}'
    assert expressions("origin/$(body.ref) and $(body.x(y))") == ["$(body.ref)", "$(body.x(y))"]


def test_binding_falls_back_to_the_template_default_only_when_there_is_one() -> None:
    values = resolve_params([("a", "$(body.missing)"), ("b", "v$(body.number)")], EVENT, {"a": "dflt"}, "t")
    assert values == {"a": "dflt", "b": "v42"}
    with pytest.raises(TektonInputError, match="would create nothing"):
        resolve_params([("c", "$(body.missing)")], EVENT, {}, "t")


@given(st.text())
def test_a_bound_string_reaches_the_pipelinerun_unchanged(text: str) -> None:
    bound = evaluate("$(body.s)", {"body": {"s": text}})
    run = json.loads(apply_template('{"value": "$(tt.params.s)"}', {"s": bound}, "uid"))
    # Triggers escapes `$(` as `$$(`, so webhook text never becomes a Tekton variable.
    assert run["value"] == text.replace("$(", "$$(")


@pytest.mark.parametrize("pidfd", [True, False])
def test_a_deadline_kills_the_step_with_or_without_pidfd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pidfd: bool
) -> None:
    if not pidfd:
        monkeypatch.delattr(os, "pidfd_open", raising=False)
    elif not hasattr(os, "pidfd_open"):
        pytest.skip("no pidfd on this platform: the timer is the only way here")
    env = dict(os.environ)
    slow = StepProcess("sleep 5", env, tmp_path, tmp_path / "slow", tmp_path / "slow.log")
    outcome = run_process(slow, time.monotonic() + 0.2)
    assert outcome.timed_out and outcome.exit_code is None and outcome.seconds < 3
    quick = StepProcess("echo out; exit 3", env, tmp_path, tmp_path / "quick", tmp_path / "quick.log")
    assert run_process(quick, time.monotonic() + 5).exit_code == 3
    assert (tmp_path / "quick.log").read_text() == "out\n"
