"""The PipelineRun loop: pipeline tasks in DAG order, one at a time, then the finally tasks, with Tekton's
rules for what runs, what is skipped and why (``pipelinerunresolution.go``, ``pipelinerunstate.go``).

A task of ``tasks``, once everything it waits for is done, is skipped, in this order of precedence:
1. "PipelineRun was stopping": a task failed (without ``onError: continue``) or failed validation;
2. "When Expressions evaluated to false" (results it reads are substituted first, all or none);
3. "Parent Tasks were skipped": a task it waits for was skipped for any reason other than its ``when``
   (a task skipped by ``when`` lets its ordering dependents run);
4. "Results were missing": a result it reads is missing and it has ``onError: continue``, or the task that
   should have written it was skipped by its ``when``;
5. "PipelineRun timeout has been reached";
6. "Matrix Parameters have an empty array".
A result still missing after that (a task succeeded without writing it) fails the task's validation, and the
PipelineRun stops. A finally task runs after all of them, whatever happened, and is skipped only when a result
it reads is missing, its ``when`` is false, the timeout has passed, or its matrix is empty; it can read
``$(tasks.<t>.status)``, ``$(tasks.<t>.reason)`` and ``$(tasks.status)``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from shipyard.ci.run.durations import go_duration, parse_duration
from shipyard.ci.run.matrix import fan_out
from shipyard.ci.run.observer import Observer, Quiet
from shipyard.ci.run.plan import DEFAULT_TIMEOUT, MAX_MATRIX_COMBINATIONS, ExecutionPlan, TaskNode, result_refs
from shipyard.ci.run.records import PipelineRunRecord, TaskRecord, TaskRunRecord
from shipyard.ci.run.taskrun import Deadline, TaskRunInput, run_taskrun
from shipyard.ci.run.variables import Scope, Value
from shipyard.errors import ShipyardError
from shipyard.k8s.tekton import Param

WHEN_SKIP = "When Expressions evaluated to false"
PARENT_SKIP = "Parent Tasks were skipped"
STOPPING_SKIP = "PipelineRun was stopping"
MISSING_RESULTS_SKIP = "Results were missing"
TIMEOUT_SKIP = "PipelineRun timeout has been reached"
EMPTY_MATRIX_SKIP = "Matrix Parameters have an empty array"
_CANCELLED = "TaskRun cancelled as the PipelineRun it belongs to has timed out."


@dataclass(frozen=True)
class Fields:
    """The substitutable fields of a pipeline task: params, matrix params and includes, ``when``."""

    params: dict[str, Value]
    matrix: list[tuple[str, Value]]
    include: list[dict[str, str]]
    when: list[tuple[str, str, list[str]]]

    @classmethod
    def of(cls, node: TaskNode) -> Fields:
        """The fields as written in the Pipeline."""
        pt = node.pipeline_task
        matrix = pt.matrix
        return cls(
            params=_params(pt.params),
            matrix=list(_params(matrix.params if matrix else None).items()),
            include=[{p.name: str(p.value) for p in inc.params} for inc in (matrix.include or [])] if matrix else [],
            when=[(w.input, w.operator, list(w.values)) for w in pt.when or []],
        )

    def apply(self, scope: Scope) -> Fields:
        """The fields with what ``scope`` knows substituted (whole arrays where an array is allowed)."""
        return Fields(
            params={k: scope.value(v) for k, v in self.params.items()},
            matrix=[(k, scope.value(v)) for k, v in self.matrix],
            include=[{k: scope.string(v) for k, v in inc.items()} for inc in self.include],
            when=[(scope.string(i), op, scope.items(values)) for i, op, values in self.when],
        )

    def allows(self) -> bool:
        """Every ``when`` expression holds (``in``: the input is one of the values; ``notin``: it is not)."""
        return all((i in values) == (op == "in") for i, op, values in self.when)


def _params(params: list[Param] | None) -> dict[str, Value]:
    return {p.name: p.value if isinstance(p.value, str) else list(p.value) for p in params or []}


@dataclass
class _Missing:
    producer: str
    message: str


@dataclass
class Engine:
    """Executes one ExecutionPlan; ``execute()`` returns the PipelineRun's record."""

    plan: ExecutionPlan
    observer: Observer = field(default_factory=Quiet)
    base_env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    records: dict[str, TaskRecord] = field(default_factory=dict, init=False)
    notes: set[str] = field(default_factory=set, init=False)
    deadline: float = field(default=0.0, init=False)
    timed_out: bool = field(default=False, init=False)

    def execute(self) -> PipelineRunRecord:
        """Run every task of the plan and return Tekton's verdict on the PipelineRun."""
        plan = self.plan
        started = time.monotonic()
        self.deadline = started + plan.timeout
        record = PipelineRunRecord(
            plan.request.name, plan.pipeline.metadata.name, plan.request.trigger, plan.directory, plan.params
        )
        for source in plan.workspaces.values():
            if source.path is not None:
                source.path.mkdir(parents=True, exist_ok=True)
        self.observer.run_started(plan)
        if plan.request.pod_settings:
            self._note(
                f"PipelineRun {plan.request.name}: its podTemplate ({'; '.join(plan.request.pod_settings)}) is not "
                "applied here: every step runs as this user, on this machine, in folders this user owns"
            )
        static = Scope(self._pipeline_variables(), where=f"PipelineRun {plan.request.name}")
        fields = {name: Fields.of(node).apply(static) for name, node in plan.nodes.items()}
        for name in plan.order:
            self._finish(self._dag_task(plan.nodes[name], fields[name]))
        status = Scope(self._status_variables(), where=f"PipelineRun {plan.request.name}")
        for name in plan.finally_tasks:
            self._finish(self._finally_task(plan.nodes[name], fields[name].apply(status)))
        record.tasks = [self.records[n] for n in (*plan.order, *plan.finally_tasks)]
        record.succeeded, record.reason, record.message = self._condition()
        record.seconds = time.monotonic() - started
        record.step_seconds = sum(
            s.seconds for t in record.tasks for run in t.runs for s in run.steps if s.status != "Skipped"
        )
        self.observer.run_finished(record)
        return record

    def _finish(self, task: TaskRecord) -> None:
        self.records[task.name] = task
        self.observer.task_finished(task)

    def _pipeline_variables(self) -> dict[str, Value]:
        plan = self.plan
        values: dict[str, Value] = {f"params.{k}": v for k, v in plan.params.items()}
        values.update(
            {
                "context.pipelineRun.name": plan.request.name,
                "context.pipelineRun.namespace": plan.request.namespace,
                "context.pipelineRun.uid": plan.uid,
                "context.pipeline.name": plan.pipeline.metadata.name,
                "context.pipelineTask.retries": "0",
            }
        )
        for source in plan.workspaces.values():
            values[f"workspaces.{source.name}.bound"] = "false" if source.path is None else "true"
        return values

    def _status_variables(self) -> dict[str, Value]:
        values: dict[str, Value] = {}
        aggregate = "Succeeded"
        for name in self.plan.order:
            task = self.records[name]
            values[f"tasks.{name}.status"] = task.status
            values[f"tasks.{name}.reason"] = task.reason
        for name in self.plan.order:  # a failure wins over a skip (GetPipelineTaskStatus)
            task = self.records[name]
            if task.failed:
                aggregate = "Failed"
                break
            if task.skip_reason:
                aggregate = "Completed"
        values["tasks.status"] = aggregate
        return values

    def _stopping(self) -> bool:
        return any(
            (t.validation_error or (t.failed and not t.ignore_failure))
            for t in self.records.values()
            if not t.is_finally
        )

    def _results(self, node: TaskNode) -> tuple[Scope | None, _Missing | None]:
        # All or nothing, as ResolveResultRefs: one missing result and none is substituted.
        values: dict[str, Value] = {}
        for ref in result_refs(node.pipeline_task):
            _, producer, _, result = ref.key.split(".", 3)
            done = self.records.get(producer)
            if done is None or not done.runs:
                return None, _Missing(producer, f"task {producer} referenced by result was not finished")
            if result not in done.results:
                return None, _Missing(producer, f"could not find result with name {result} for task {producer}")
            values[ref.key] = done.results[result]
        return Scope(values, where=node.where), None

    def _dag_task(self, node: TaskNode, fields: Fields) -> TaskRecord:
        task = TaskRecord(node.name, False, ignore_failure=node.pipeline_task.on_error == "continue")
        if self._stopping():
            return self._skip(task, STOPPING_SKIP)
        scope, missing = self._results(node)
        if scope is not None:
            fields = fields.apply(scope)
        if not fields.allows():
            return self._skip(task, WHEN_SKIP)
        if any(self.records[d].skip_reason not in (None, WHEN_SKIP) for d in node.deps):
            return self._skip(task, PARENT_SKIP)
        if missing and (task.ignore_failure or self.records[missing.producer].skip_reason == WHEN_SKIP):
            return self._skip(task, MISSING_RESULTS_SKIP)
        if self.timed_out or time.monotonic() >= self.deadline:
            return self._skip(task, TIMEOUT_SKIP)
        if _empty_matrix(fields):
            return self._skip(task, EMPTY_MATRIX_SKIP)
        if missing:
            task.validation_error = f"InvalidTaskResultReference: {missing.message}"
            return task
        return self._run(node, task, fields)

    def _finally_task(self, node: TaskNode, fields: Fields) -> TaskRecord:
        task = TaskRecord(node.name, True, ignore_failure=node.pipeline_task.on_error == "continue")
        scope, missing = self._results(node)
        if missing:
            return self._skip(task, MISSING_RESULTS_SKIP)
        if scope is not None:
            fields = fields.apply(scope)
        if not fields.allows():
            return self._skip(task, WHEN_SKIP)
        if self.timed_out or time.monotonic() >= self.deadline:
            return self._skip(task, TIMEOUT_SKIP)
        if _empty_matrix(fields):
            return self._skip(task, EMPTY_MATRIX_SKIP)
        return self._run(node, task, fields)

    def _skip(self, task: TaskRecord, reason: str) -> TaskRecord:
        task.skip_reason = reason
        return task

    def _run(self, node: TaskNode, task: TaskRecord, fields: Fields) -> TaskRecord:
        try:
            combos = self._combinations(node, fields)
        except ShipyardError as exc:
            task.validation_error = str(exc)
            return task
        taskrun_timeout = DEFAULT_TIMEOUT
        if node.pipeline_task.timeout is not None:
            taskrun_timeout = parse_duration(node.pipeline_task.timeout) or 0.0
        base = f"{self.plan.request.name}-{node.name}"
        names = [f"{base}-{i}" for i in range(len(combos))] if node.matrixed else [base]
        for name, combo in zip(names, combos, strict=True):
            if self.timed_out:
                task.runs.append(TaskRunRecord(name, False, "TaskRunCancelled", matrix=combo, message=_CANCELLED))
                continue
            task.runs.append(self._taskrun(node, name, {**fields.params, **combo}, combo, taskrun_timeout))
        if node.matrixed:
            # String results of a fanned-out task become arrays, in the order of the TaskRuns' names.
            declared = [r.name for r in node.task.spec.results or [] if (r.type or "string") == "string"]
            ordered = sorted(task.runs, key=lambda r: r.name)
            task.results = {
                r: [str(run.results[r]) for run in ordered if r in run.results]
                for r in declared
                if any(r in run.results for run in ordered)
            }
        elif task.runs:
            task.results = task.runs[0].results
        return task

    def _combinations(self, node: TaskNode, fields: Fields) -> list[dict[str, str]]:
        if not node.matrixed:
            return [{}]
        params: list[tuple[str, list[str]]] = []
        for name, value in fields.matrix:
            if not isinstance(value, list):
                raise ShipyardError(f"InvalidMatrixParameterTypes: matrix param {name} is not an array: {value!r}")
            params.append((name, value))
        combos = fan_out(params, fields.include)
        if len(combos) > MAX_MATRIX_COMBINATIONS:
            raise ShipyardError(f"the matrix makes {len(combos)} combinations; Tekton allows {MAX_MATRIX_COMBINATIONS}")
        return combos

    def _taskrun(
        self, node: TaskNode, name: str, params: dict[str, Value], combo: dict[str, str], timeout: float
    ) -> TaskRunRecord:
        plan = self.plan
        bindings = {b.name: b.workspace for b in node.pipeline_task.workspaces or []}
        folders: dict[str, Path | None] = {
            task_ws: plan.workspaces[pipeline_ws].path for task_ws, pipeline_ws in bindings.items()
        }
        now = time.monotonic()
        deadlines = [Deadline(self.deadline, "TaskRunCancelled", _CANCELLED)]
        if timeout > 0:
            message = f'TaskRun "{name}" failed to finish within "{go_duration(timeout)}"'
            deadlines.append(Deadline(now + timeout, "TaskRunTimeout", message))
        spec = TaskRunInput(
            name=name,
            task=node.task,
            params=params,
            workspaces=folders,
            directory=plan.directory / "tasks" / name,
            namespace=plan.request.namespace,
            uid=f"{plan.uid}-{name}",
            matrix=combo,
            deadlines=tuple(deadlines),
            base_env=self.base_env,
        )
        self.observer.taskrun_started(node.name, name, combo)
        record = run_taskrun(spec, self.observer, self._note)
        if record.reason == "TaskRunCancelled":
            self.timed_out = True
        if not record.succeeded and record.reason == "Failed" and node.pipeline_task.on_error == "continue":
            record = replace(record, reason="FailureIgnored")
        self.observer.taskrun_finished(record)
        return record

    def _note(self, message: str) -> None:
        if message not in self.notes:
            self.notes.add(message)
            self.observer.note(message)

    def _condition(self) -> tuple[bool, str, str]:
        # GetPipelineConditionStatus, once every task is done.
        succeeded = failed = ignored = invalid = skipped = timed_out_skips = 0
        for task in self.records.values():
            if task.succeeded:
                succeeded += 1
            elif task.failed:
                if task.ignore_failure and not any(r.reason == "TaskRunCancelled" for r in task.runs):
                    ignored += 1
                else:
                    failed += 1
            elif task.validation_error:
                invalid += 1
            elif task.skip_reason:
                skipped += 1
                timed_out_skips += task.skip_reason == TIMEOUT_SKIP
        completed = succeeded + failed + ignored
        if ignored:
            message = f"Tasks Completed: {completed} (Failed: {failed + ignored} (Ignored: {ignored}), Cancelled 0)"
        else:
            message = f"Tasks Completed: {completed} (Failed: {failed}, Cancelled 0)"
        message += f", Skipped: {skipped}"
        if self.timed_out or timed_out_skips:
            name = self.plan.request.name
            within = go_duration(self.plan.timeout)
            return False, "PipelineRunTimeout", f'PipelineRun "{name}" failed to finish within "{within}"'
        if invalid:
            errors = "; ".join(t.validation_error or "" for t in self.records.values() if t.validation_error)
            return False, "PipelineValidationFailed", f"{message}, Failed Validation: {invalid} ({errors})"
        if failed:
            return False, "Failed", message
        return True, ("Completed" if skipped else "Succeeded"), message


def _empty_matrix(fields: Fields) -> bool:
    return any(isinstance(v, list) and not v for _, v in fields.matrix)


def execute(
    plan: ExecutionPlan, observer: Observer | None = None, base_env: dict[str, str] | None = None
) -> PipelineRunRecord:
    """Execute ``plan`` on this machine; the record says whether the PipelineRun succeeded."""
    engine = Engine(plan, observer or Quiet(), dict(os.environ) if base_env is None else base_env)
    return engine.execute()
