"""``ci run``'s Tekton semantics on small hand-made Pipelines: DAG order, ``when``, skipping rules, matrix
fan-out and its results, finally tasks and their status variables, failure propagation, ``onError``, step
environments, workspaces, array params, timeouts. Steps are real ``/bin/sh`` processes."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from shipyard.ci.run import Catalog, PipelineRunRecord, RunRequest, TaskRecord, execute, load_catalog, make_plan
from shipyard.ci.run.errors import TektonInputError

# A Task that appends its label to the shared `order` file, writes its results, and exits with `exit`.
WORKER = """
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: worker}
spec:
  params:
  - {name: label}
  - {name: exit, default: "0"}
  - {name: value, default: ""}
  workspaces:
  - {name: shared}
  results:
  - {name: out}
  - {name: list, type: array}
  steps:
  - name: work
    image: docker.io/library/alpine:3.20
    env:
    - {name: LABEL, value: $(params.label)}
    script: |
      echo "$LABEL" >> $(workspaces.shared.path)/order
      printf %s "$(params.value)" > $(results.out.path)
      printf '["a","b"]' > $(results.list.path)
      exit $(params.exit)
"""


def load(tmp_path: Path, pipeline: str, *tasks: str) -> Catalog:
    root = tmp_path / "tekton"
    root.mkdir(parents=True, exist_ok=True)
    docs = [textwrap.dedent(d).strip() + "\n" for d in (WORKER, *tasks, pipeline)]
    (root / "objects.yaml").write_text("---\n".join(docs))
    return load_catalog(root)


def run(
    tmp_path: Path, pipeline: str, *tasks: str, params: dict[str, str | list[str]] | None = None
) -> PipelineRunRecord:
    catalog, name = load(tmp_path, pipeline, *tasks), "p"
    workspaces = {w.name: "volumeClaimTemplate" for w in catalog.pipelines[name].spec.workspaces or []}
    request = RunRequest("run", name, params or {}, workspaces)
    return execute(make_plan(catalog, request, tmp_path / "work", {}, "uid"))


def order(tmp_path: Path) -> list[str]:
    return (tmp_path / "work" / "workspaces" / "ws" / "order").read_text().split()


def task(record: PipelineRunRecord, name: str) -> TaskRecord:
    return next(t for t in record.tasks if t.name == name)


def pipeline(*tasks: str, final: tuple[str, ...] = (), params: str = "[]") -> str:
    text = f"""\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {{name: p}}
spec:
  params: {params}
  workspaces: [{{name: ws}}]
  tasks:
"""
    text += "".join(textwrap.indent(t, "  ") for t in tasks)
    if final:
        text += "  finally:\n" + "".join(textwrap.indent(t, "  ") for t in final)
    return text


def worker(name: str, *extra: str, **params: str) -> str:
    values = "".join(f"\n  - {{name: {k}, value: {json.dumps(v)}}}" for k, v in {"label": name, **params}.items())
    lines = "".join(f"  {line}\n" for line in extra)
    return f"- name: {name}\n  taskRef: {{name: worker}}\n  workspaces: [{{name: shared, workspace: ws}}]\n" + (
        f"  params:{values}\n{lines}"
    )


def test_run_after_and_result_references_order_the_dag(tmp_path: Path) -> None:
    record = run(
        tmp_path,
        pipeline(
            worker("deploy", "runAfter: [build, lint]"),
            worker("build", value="$(tasks.test.results.out)"),
            worker("test", value="tested"),
            worker("lint"),
        ),
    )
    assert record.succeeded and record.reason == "Succeeded"
    assert order(tmp_path) == ["test", "lint", "build", "deploy"]
    assert task(record, "build").results["out"] == "tested"


def test_plan_levels_show_what_tekton_runs_together(tmp_path: Path) -> None:
    catalog = load(
        tmp_path, pipeline(worker("a"), worker("b", "runAfter: [a]"), worker("c", "runAfter: [a]"), worker("d"))
    )
    plan = make_plan(catalog, RunRequest("r", "p", {}, {"ws": "volumeClaimTemplate"}), tmp_path, {}, "u")
    assert plan.order == ("a", "d", "b", "c")
    assert plan.levels == (("a", "d"), ("b", "c"))


def test_when_in_and_notin_on_params_and_results(tmp_path: Path) -> None:
    record = run(
        tmp_path,
        pipeline(
            worker("mode", value="build"),
            worker("build", "when: [{input: $(tasks.mode.results.out), operator: in, values: [build]}]"),
            worker("retag", "when: [{input: $(tasks.mode.results.out), operator: in, values: [retag]}]"),
            worker("not-main", "when: [{input: $(params.branch), operator: notin, values: [main]}]"),
            worker("main-only", "when: [{input: $(params.branch), operator: in, values: [main]}]"),
            params="[{name: branch}]",
        ),
        params={"branch": "develop"},
    )
    assert order(tmp_path) == ["mode", "not-main", "build"]  # level by level, in the Pipeline's order
    assert task(record, "retag").skip_reason == "When Expressions evaluated to false"
    assert task(record, "main-only").skip_reason == "When Expressions evaluated to false"
    assert record.succeeded and record.reason == "Completed"  # skipped tasks: succeeded, "Completed"


def test_a_when_skip_lets_ordering_dependents_run_but_not_result_readers(tmp_path: Path) -> None:
    record = run(
        tmp_path,
        pipeline(
            worker("approve", "when: [{input: stop, operator: in, values: [go]}]", value="alice"),
            worker("build", "runAfter: [approve]"),
            worker("notify", value="$(tasks.approve.results.out)"),
            worker("after-notify", "runAfter: [notify]"),
        ),
    )
    assert order(tmp_path) == ["build"]
    assert task(record, "approve").skip_reason == "When Expressions evaluated to false"
    assert task(record, "notify").skip_reason == "Results were missing"
    assert task(record, "after-notify").skip_reason == "Parent Tasks were skipped"
    assert record.reason == "Completed"


def test_a_failure_stops_the_run_and_finally_sees_the_statuses(tmp_path: Path) -> None:
    record = run(
        tmp_path,
        pipeline(
            worker("ok"),
            worker("broken", "runAfter: [ok]", exit="3"),
            worker("after", "runAfter: [broken]"),
            worker("independent", "runAfter: [ok]"),
            final=(
                worker(
                    "report",
                    value="$(tasks.status) $(tasks.broken.status) $(tasks.after.status) $(tasks.ok.status)",
                ),
                worker("on-failure", "when: [{input: $(tasks.broken.status), operator: in, values: [Failed]}]"),
                worker("on-success", "when: [{input: $(tasks.status), operator: in, values: [Succeeded]}]"),
            ),
        ),
    )
    assert order(tmp_path) == ["ok", "broken", "report", "on-failure"]
    assert task(record, "after").skip_reason == "PipelineRun was stopping"
    assert task(record, "independent").skip_reason == "PipelineRun was stopping"
    assert task(record, "report").results["out"] == "Failed Failed None Succeeded"
    assert task(record, "on-success").skip_reason == "When Expressions evaluated to false"
    assert task(record, "broken").runs[0].steps[0].exit_code == 3
    assert not record.succeeded and record.reason == "Failed"
    assert record.message == "Tasks Completed: 4 (Failed: 1, Cancelled 0), Skipped: 3"


def test_finally_reads_completed_when_a_task_was_skipped(tmp_path: Path) -> None:
    record = run(
        tmp_path,
        pipeline(
            worker("maybe", "when: [{input: a, operator: notin, values: [a]}]"),
            final=(worker("report", value="$(tasks.status) $(tasks.maybe.status) [$(tasks.maybe.reason)]"),),
        ),
    )
    assert task(record, "report").results["out"] == "Completed None []"


def test_a_finally_task_reading_a_missing_result_is_skipped_and_the_others_run(tmp_path: Path) -> None:
    record = run(
        tmp_path,
        pipeline(
            worker("fails", exit="1"),
            final=(worker("reads", value="$(tasks.fails.results.list[0])"), worker("cleanup")),
        ),
    )
    # `fails` wrote its results before exiting 1: results written before a failure count.
    assert task(record, "reads").results["out"] == "a"
    record = run(
        tmp_path / "second",
        pipeline(
            worker("skipped", "when: [{input: a, operator: in, values: [b]}]"),
            final=(worker("reads", value="$(tasks.skipped.results.out)"), worker("cleanup")),
        ),
    )
    assert task(record, "reads").skip_reason == "Results were missing"
    assert order(tmp_path / "second") == ["cleanup"]


def test_pipeline_task_on_error_continue_ignores_the_failure(tmp_path: Path) -> None:
    record = run(
        tmp_path,
        pipeline(
            worker("flaky", "onError: continue", exit="1", value="partial"),
            worker("next", value="$(tasks.flaky.results.out)"),
            final=(worker("report", value="$(tasks.status) $(tasks.flaky.status) $(tasks.flaky.reason)"),),
        ),
    )
    assert task(record, "next").results["out"] == "partial"
    assert task(record, "flaky").shown_status == "FailureIgnored"
    assert task(record, "report").results["out"] == "Failed Failed FailureIgnored"
    assert record.succeeded and record.reason == "Succeeded"
    assert "(Ignored: 1)" in record.message


def test_a_result_missing_from_a_successful_task_fails_validation(tmp_path: Path) -> None:
    silent = """
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: silent}
spec:
  results: [{name: out}]
  steps: [{name: nothing, image: alpine, script: "true"}]
"""
    record = run(
        tmp_path,
        pipeline(
            "- name: quiet\n  taskRef: {name: silent}\n",
            worker("reader", value="$(tasks.quiet.results.out)"),
            final=(worker("cleanup"),),
        ),
        silent,
    )
    error = task(record, "reader").validation_error
    assert error is not None and "could not find result with name out for task quiet" in error
    assert order(tmp_path) == ["cleanup"]
    assert not record.succeeded and record.reason == "PipelineValidationFailed"


MATRIX_TASK = """
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: cell}
spec:
  params: [{name: os}, {name: arch, default: amd64}, {name: extra, default: ""}]
  workspaces: [{name: shared}]
  results: [{name: id}]
  steps:
  - name: run
    image: alpine
    script: |
      echo "$(params.os)/$(params.arch)$(params.extra)" >> $(workspaces.shared.path)/order
      printf %s "$(params.os)-$(params.arch)" > $(results.id.path)
"""


def test_matrix_fans_out_with_include_and_aggregates_results(tmp_path: Path) -> None:
    fan = """\
- name: fan
  taskRef: {name: cell}
  workspaces: [{name: shared, workspace: ws}]
  matrix:
    params:
    - {name: os, value: "$(tasks.source.results.list[*])"}
    - {name: arch, value: [amd64, arm64]}
    include:
    - params: [{name: os, value: a}, {name: extra, value: "+x"}]
    - params: [{name: os, value: z}]
"""
    record = run(
        tmp_path,
        pipeline(worker("source"), fan, worker("collect", value="$(tasks.fan.results.id[*])")),
        MATRIX_TASK,
    )
    assert order(tmp_path)[1:6] == ["a/amd64+x", "b/amd64", "a/arm64+x", "b/arm64", "z/amd64"]
    runs = task(record, "fan").runs
    assert [r.name for r in runs] == [f"run-fan-{i}" for i in range(5)]
    assert runs[0].matrix == {"os": "a", "arch": "amd64", "extra": "+x"}
    assert task(record, "fan").results["id"] == ["a-amd64", "b-amd64", "a-arm64", "b-arm64", "z-amd64"]


def test_matrix_results_follow_tekton_taskrun_name_order(tmp_path: Path) -> None:
    fan = """\
- name: fan
  taskRef: {name: cell}
  workspaces: [{name: shared, workspace: ws}]
  matrix:
    params: [{name: os, value: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]}]
"""
    record = run(tmp_path, pipeline(fan), MATRIX_TASK)
    # Tekton sorts a matrixed task's TaskRuns by name (run-fan-0, run-fan-1, run-fan-10, run-fan-2, ...).
    assert task(record, "fan").results["id"][:4] == ["0-amd64", "1-amd64", "10-amd64", "2-amd64"]


def test_an_empty_matrix_skips_the_task_and_its_dependents(tmp_path: Path) -> None:
    empty = """
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: none}
spec:
  results: [{name: items, type: array}]
  steps: [{name: w, image: alpine, script: "printf '[]' > $(results.items.path)"}]
"""
    fan = """\
- name: fan
  taskRef: {name: cell}
  workspaces: [{name: shared, workspace: ws}]
  matrix:
    params: [{name: os, value: "$(tasks.list.results.items[*])"}]
"""
    record = run(
        tmp_path,
        pipeline("- name: list\n  taskRef: {name: none}\n", fan, worker("after", "runAfter: [fan]")),
        MATRIX_TASK,
        empty,
    )
    assert task(record, "fan").skip_reason == "Matrix Parameters have an empty array"
    assert task(record, "after").skip_reason == "Parent Tasks were skipped"


STEPS_TASK = """
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: steps}
spec:
  params:
  - {name: words, type: array}
  - {name: name}
  workspaces:
  - {name: shared}
  - {name: maybe, optional: true}
  results: [{name: report}]
  steps:
  - name: first
    image: alpine
    onError: continue
    script: exit 7
  - name: second
    image: alpine
    workingDir: sub/dir
    env:
    - {name: NAME, value: $(params.name)}
    - {name: GREETING, value: "hello $(NAME) $$(NAME) $(UNKNOWN)"}
    script: |
      #!/bin/sh
      set -eu
      {
        echo "$GREETING"
        echo "second word: $(params.words[1])"
        echo "first step exit: $(cat $(steps.step-first.exitCode.path))"
        echo "maybe bound: $(workspaces.maybe.bound) path: [$(workspaces.maybe.path)]"
        echo "cwd: $(basename "$(pwd)")"
        echo "home: $(basename "$HOME")"
        echo "taskrun: $(context.taskRun.name) task: $(context.task.name)"
      } > $(results.report.path)
  - name: third
    image: alpine
    script: "exit 1"
  - name: never
    image: alpine
    script: "exit 0"
"""


def test_steps_env_working_dir_workspaces_array_params_and_on_error(tmp_path: Path) -> None:
    pt = """\
- name: s
  taskRef: {name: steps}
  params:
  - {name: words, value: ["$(params.words[*])", tail]}
  - {name: name, value: "$(context.pipelineRun.name)"}
  workspaces: [{name: shared, workspace: ws}]
  when: [{input: y, operator: in, values: ["$(params.words[*])"]}]
"""
    record = run(
        tmp_path, pipeline(pt, params="[{name: words, type: array}]"), STEPS_TASK, params={"words": ["x", "y"]}
    )
    run_record = task(record, "s").runs[0]
    assert [s.status for s in run_record.steps] == ["Failed", "Succeeded", "Failed", "Skipped"]
    assert run_record.steps[0].exit_code == 7 and "onError: continue" in run_record.steps[0].message
    assert run_record.reason == "Failed"
    report = run_record.results["report"]
    assert isinstance(report, str)
    assert report.splitlines() == [
        "hello run $(NAME) $(UNKNOWN)",
        "second word: y",
        "first step exit: 7",
        "maybe bound: false path: []",
        "cwd: dir",
        "home: home",
        "taskrun: run-s task: steps",
    ]


def test_timeouts_kill_the_step_and_fail_the_taskrun(tmp_path: Path) -> None:
    slow = """
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: slow}
spec:
  params: [{name: step-timeout, default: "10s"}]
  steps:
  - {name: sleep, image: alpine, timeout: 200ms, script: "sleep 5"}
"""
    slower = slow.replace("name: slow", "name: slower").replace("timeout: 200ms, ", "")
    record = run(
        tmp_path,
        pipeline(
            "- name: a\n  taskRef: {name: slow}\n  onError: continue\n",
            "- name: b\n  taskRef: {name: slower}\n  timeout: 300ms\n  runAfter: [a]\n",
        ),
        slow,
        slower,
    )
    step = task(record, "a").runs[0].steps[0]
    assert step.status == "Failed" and "timed out" in step.message and step.seconds < 3
    assert task(record, "b").runs[0].reason == "TaskRunTimeout"
    assert not record.succeeded


def test_results_are_checked_for_type_and_size(tmp_path: Path) -> None:
    bad = """
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: bad}
spec:
  params: [{name: what}]
  results: [{name: items, type: array}]
  steps:
  - name: w
    image: alpine
    script: |
      if [ "$(params.what)" = big ]; then head -c 5000 /dev/zero | tr '\\0' x > $(results.items.path)
      else printf 'not json' > $(results.items.path); fi
"""
    record = run(
        tmp_path,
        pipeline(
            "- name: typed\n  taskRef: {name: bad}\n  onError: continue\n  params: [{name: what, value: typed}]\n",
            "- name: big\n  taskRef: {name: bad}\n  params: [{name: what, value: big}]\n",
        ),
        bad,
    )
    assert task(record, "typed").runs[0].reason == "TaskRunValidationFailed"
    assert "above max allowed size 4096" in task(record, "big").runs[0].message


@pytest.mark.parametrize(
    ("tasks", "message"),
    [
        ((worker("a", "runAfter: [b]"), worker("b", "runAfter: [a]")), "wait for each other"),
        ((worker("a", "runAfter: [ghost]"),), "does not have"),
        ((worker("a", value="$(params.nope)"),), "not a param of the Pipeline"),
        ((worker("a", value="$(tasks.status)"),), "only available in finally tasks"),
        ((worker("a"), worker("b", value="$(tasks.a.results.nope)")), "declares no result nope"),
        ((worker("a"), worker("b", value="all: $(tasks.a.results.list[*])")), "whole array"),
        (("- name: a\n  taskRef: {name: worker}\n  params: [{name: label, value: x}]\n",), "needs workspace shared"),
        (
            ("- name: a\n  taskRef: {name: worker}\n  workspaces: [{name: shared, workspace: ws}]\n",),
            "needs param label",
        ),
    ],
)
def test_what_tekton_refuses_is_refused_before_anything_runs(
    tmp_path: Path, tasks: tuple[str, ...], message: str
) -> None:
    with pytest.raises(TektonInputError, match=message):
        run(tmp_path, pipeline(*tasks))
    assert not (tmp_path / "work").exists()


def test_a_missing_param_and_a_missing_workspace_are_named(tmp_path: Path) -> None:
    catalog = load(tmp_path, pipeline(worker("a"), params="[{name: needed}]"))
    with pytest.raises(TektonInputError, match="does not give param needed"):
        make_plan(catalog, RunRequest("r", "p", {}, {"ws": "volumeClaimTemplate"}), tmp_path, {}, "u")
    with pytest.raises(TektonInputError, match="Secret creds on a cluster"):
        make_plan(catalog, RunRequest("r", "p", {"needed": "x"}, {"ws": "Secret creds"}), tmp_path, {}, "u")
    given = make_plan(
        catalog, RunRequest("r", "p", {"needed": "x"}, {"ws": "Secret creds"}), tmp_path, {"ws": tmp_path}, "u"
    )
    assert given.workspaces["ws"].path == tmp_path
