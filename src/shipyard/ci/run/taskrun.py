"""One TaskRun on this machine: the Task's params and variables substituted into its steps, the steps run one
after the other in a TaskRun folder, and the results read back from their files.

Tekton's behaviour encoded here:
- a step failure ends the TaskRun and skips the later steps, unless the step has ``onError: continue``;
- ``$(steps.step-<name>.exitCode.path)`` holds each step's exit code;
- a step ``timeout`` kills the step; the TaskRun's own timeout (the pipeline task's ``timeout``, else 60
  minutes) fails it with ``TaskRunTimeout``; the PipelineRun's timeout cancels it;
- results are the files under ``$(results.<name>.path)`` (nothing trimmed); an array result must hold a JSON
  array of strings, else the TaskRun fails validation; every step's results must fit the 4096-byte
  termination message;
- a result written before a failure is still a result.

A container's filesystem is not reproduced: ``/workspace`` is the TaskRun's ``workspace`` folder (the working
directory of a step without ``workingDir``, and the base of a relative one), ``HOME`` is the TaskRun's
``home`` folder (so ``git config --global`` in a step does not touch the user's: ``GIT_CONFIG_GLOBAL`` and
``XDG_CONFIG_HOME`` are not passed on), and workspaces are the
folders ``$(workspaces.<name>.path)`` names. Literal ``/workspace`` or ``/tekton`` paths in scripts are not
remapped.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from shipyard.ci.run import process
from shipyard.ci.run.durations import parse_duration
from shipyard.ci.run.observer import Observer
from shipyard.ci.run.plan import param_type
from shipyard.ci.run.records import StepRecord, TaskRunRecord
from shipyard.ci.run.variables import Scope, Value, unresolved
from shipyard.errors import ShipyardError
from shipyard.k8s.tekton import Step, Task

_GIT_CONFIG_LOCATIONS = frozenset({"GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM", "GIT_CONFIG_NOSYSTEM", "XDG_CONFIG_HOME"})

TERMINATION_MESSAGE_LIMIT = 4096  # a container's termination message, which carries its results
_LEFT_OVER = ("params.", "workspaces.", "results.", "steps.")
_USER_CONFIG = ("GIT_CONFIG_GLOBAL", "XDG_CONFIG_HOME")


@dataclass(frozen=True)
class Deadline:
    """A ``time.monotonic()`` moment and what passing it means for the TaskRun."""

    at: float
    reason: str
    message: str


@dataclass(frozen=True)
class TaskRunInput:
    """A TaskRun to execute: its Task, its params (already substituted by the pipeline), workspace folders."""

    name: str
    task: Task
    params: dict[str, Value]
    workspaces: dict[str, Path | None]
    directory: Path
    namespace: str
    uid: str
    matrix: dict[str, str]
    deadlines: tuple[Deadline, ...]
    base_env: dict[str, str]


def run_taskrun(spec: TaskRunInput, observer: Observer, note: Callable[[str], None]) -> TaskRunRecord:
    """Execute the TaskRun and return what happened; never raises for a step's failure."""
    started = time.monotonic()
    record = TaskRunRecord(spec.name, succeeded=True, reason="Succeeded", matrix=spec.matrix)
    record.directory = spec.directory
    folders = {n: spec.directory / n for n in ("workspace", "home", "results", "scripts", "steps", "logs")}
    spec.directory.mkdir(parents=True, exist_ok=True)
    for folder in folders.values():
        folder.mkdir(exist_ok=True)
    try:
        params = _params(spec)
    except _Invalid as exc:
        record.succeeded, record.reason, record.message = False, "TaskRunValidationFailed", str(exc)
        return record
    first = Scope({f"params.{k}": v for k, v in params.items()}, where=f"TaskRun {spec.name}")
    second = Scope(_task_variables(spec, folders), where=f"TaskRun {spec.name}")
    declared_results = [r.name for r in spec.task.spec.results or []]
    failed_at: int | None = None
    for index, step in enumerate(spec.task.spec.steps):
        if failed_at is not None:
            skipped = StepRecord(step.name, "Skipped", None, 0.0, None)
            record.steps.append(skipped)
            observer.step_finished(spec.name, skipped)
            continue
        observer.step_started(spec.name, step.name)
        outcome = _run_step(spec, step, index, folders, first, second, note)
        oversize = _termination_message_overflow(folders["results"], declared_results)
        if oversize and outcome.taskrun_reason is None:
            outcome = _StepResult(replace(outcome.record, status="Failed", message=oversize), "Failed", oversize)
        record.steps.append(outcome.record)
        observer.step_finished(spec.name, outcome.record)
        if outcome.taskrun_reason is not None:
            record.succeeded, record.reason, record.message = False, outcome.taskrun_reason, outcome.message
            failed_at = index
    results, problems = _read_results(spec.task, folders["results"])
    record.results = results
    if problems and record.succeeded:
        record.succeeded, record.reason = False, "TaskRunValidationFailed"
        record.message = "Provided results don't match declared results: " + "; ".join(problems)
    record.seconds = time.monotonic() - started
    return record


class _Invalid(ShipyardError):
    pass


def _params(spec: TaskRunInput) -> dict[str, Value]:
    values: dict[str, Value] = {}
    for decl in spec.task.spec.params or []:
        value = spec.params.get(decl.name, decl.default)
        if value is None:
            raise _Invalid(f"param {decl.name} has no value")
        if (param_type(decl) == "array") != isinstance(value, list):
            raise _Invalid(f"param {decl.name} is declared {param_type(decl)} but was given {value!r}")
        values[decl.name] = value
    return values


def _task_variables(spec: TaskRunInput, folders: dict[str, Path]) -> dict[str, Value]:
    values: dict[str, Value] = {
        "context.taskRun.name": spec.name,
        "context.taskRun.namespace": spec.namespace,
        "context.taskRun.uid": spec.uid,
        "context.task.name": spec.task.metadata.name,
    }
    for decl in spec.task.spec.workspaces or []:
        path = spec.workspaces.get(decl.name)
        values[f"workspaces.{decl.name}.path"] = str(path) if path else ""
        values[f"workspaces.{decl.name}.bound"] = "true" if path else "false"
    for result in spec.task.spec.results or []:
        values[f"results.{result.name}.path"] = str(folders["results"] / result.name)
    for step in spec.task.spec.steps:
        values[f"steps.step-{step.name}.exitCode.path"] = str(folders["steps"] / f"{step.name}.exitCode")
    return values


@dataclass
class _StepResult:
    record: StepRecord
    taskrun_reason: str | None
    message: str = ""


def _run_step(
    spec: TaskRunInput,
    step: Step,
    index: int,
    folders: dict[str, Path],
    first: Scope,
    second: Scope,
    note: Callable[[str], None],
) -> _StepResult:
    def substitute(text: str) -> str:
        out = second.string(first.string(text))
        left = unresolved(out, _LEFT_OVER)
        if left:
            raise ShipyardError(f"TaskRun {spec.name}, step {step.name}: {left[0].text} could not be substituted")
        return out

    image = substitute(step.image)
    note(f"image {image}: using this machine's tools")
    if step.security_context is not None:
        note(f"step {step.name} of Task {spec.task.metadata.name} asks for a securityContext: run as this user")
    # A step's container has its own HOME and no git configuration of the machine around it: variables that
    # point git elsewhere would make `git config --global` in a step write there (with GIT_CONFIG_GLOBAL set
    # to /dev/null, git replaces /dev/null itself with a file).
    env = {k: v for k, v in spec.base_env.items() if k not in _GIT_CONFIG_LOCATIONS}
    env["HOME"] = str(folders["home"])
    # A step's `git config --global` (and any tool's ~/.config) is its TaskRun's, as in a pod: variables that
    # would point them at this user's files are not passed on.
    for name in _USER_CONFIG:
        env.pop(name, None)
    defined: dict[str, str] = {}
    for var in step.env or []:
        defined[var.name] = process.kube_expand(substitute(var.value or ""), defined)
    env.update(defined)
    log = folders["logs"] / f"{step.name}.log"
    cwd = _working_dir(substitute(step.working_dir) if step.working_dir else "", folders["workspace"], spec.directory)
    if isinstance(cwd, str):
        log.write_text(cwd + "\n")
        return _StepResult(StepRecord(step.name, "Failed", None, 0.0, log, cwd), "Failed", cwd)
    job = process.StepProcess(substitute(step.script), env, cwd, folders["scripts"] / f"{index}-{step.name}", log)
    deadlines = list(spec.deadlines)
    step_timeout = parse_duration(step.timeout) if step.timeout else None
    if step_timeout:
        deadlines.append(Deadline(time.monotonic() + step_timeout, "step", f"step {step.name} timed out"))
    first_deadline = min(deadlines, key=lambda d: d.at) if deadlines else None
    outcome = process.run(job, first_deadline.at if first_deadline else None)
    exit_file = folders["steps"] / f"{step.name}.exitCode"
    exit_file.write_text(str(outcome.exit_code if outcome.exit_code is not None else 1))
    if outcome.timed_out and first_deadline is not None and first_deadline.reason != "step":
        record = StepRecord(step.name, "Failed", None, outcome.seconds, log, first_deadline.message)
        return _StepResult(record, first_deadline.reason, first_deadline.message)
    message = outcome.error or (f"step {step.name} timed out after {step.timeout}" if outcome.timed_out else "")
    if outcome.exit_code == 0:
        return _StepResult(StepRecord(step.name, "Succeeded", 0, outcome.seconds, log), None)
    code = outcome.exit_code
    message = message or f"step {step.name} exited with code {code}"
    record = StepRecord(step.name, "Failed", code, outcome.seconds, log, message)
    if step.on_error == "continue":
        record.message = message + " (onError: continue)"
        return _StepResult(record, None)
    return _StepResult(record, "Failed", message)


def _working_dir(text: str, workspace: Path, directory: Path) -> Path | str:
    # A relative workingDir is under /workspace, and Tekton creates it (and those under /workspace/).
    path = workspace / text if not text.startswith("/") else Path(text)
    if path.is_dir():
        return path
    if path.resolve().is_relative_to(directory.resolve()):
        path.mkdir(parents=True, exist_ok=True)
        return path
    return f"workingDir {text} does not exist on this machine"


def _termination_message_overflow(results: Path, declared: list[str]) -> str:
    # The entrypoint writes every result present after a step, with its start time, into the container's
    # termination message, and fails the step when that is above 4096 bytes.
    entries = [{"key": "StartedAt", "value": "2006-01-02T15:04:05.000Z", "type": 3}]
    for name in declared:
        path = results / name
        if path.is_file():
            entries.append({"key": name, "value": path.read_text(errors="replace"), "type": 1})
    text = json.dumps(entries, separators=(",", ":"), ensure_ascii=False)
    size = len(text.encode()) + 5 * sum(text.count(c) for c in "<>&")  # Go writes these as \u003c etc.
    if size <= TERMINATION_MESSAGE_LIMIT:
        return ""
    return f"Termination message is above max allowed size 4096, caused by large task result ({size} bytes)"


def _read_results(task: Task, folder: Path) -> tuple[dict[str, Value], list[str]]:
    values: dict[str, Value] = {}
    problems: list[str] = []
    for result in task.spec.results or []:
        path = folder / result.name
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        if (result.type or "string") == "string":
            values[result.name] = text
            continue
        parsed = _as_array(text)
        if parsed is None:
            problems.append(f'"{result.name}": task result is expected to be "array" type but was not')
        else:
            values[result.name] = parsed
    return values, problems


def _as_array(text: str) -> list[str] | None:
    if not text.startswith("["):
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None
