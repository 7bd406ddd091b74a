"""How ``shipyard ci run`` shows a run: live progress on stderr (a spinner on a terminal, plain lines
otherwise), then a summary table (task, status, seconds) on stdout."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.status import Status

    from shipyard.ci.run import ExecutionPlan, PipelineRunRecord, StepRecord, TaskRecord, TaskRunRecord

_TAIL_LINES = 15
_COLOURS = {"Succeeded": "green", "Completed": "green", "Failed": "red", "FailureIgnored": "yellow"}


class ProgressView:
    """An Observer that prints each TaskRun and step as it ends; on a terminal, a spinner names what runs."""

    def __init__(self, stream: TextIO | None = None, live: bool | None = None) -> None:
        from rich.console import Console

        self.stream = stream or sys.stderr
        self.console = Console(file=self.stream, highlight=False, force_terminal=live)
        self.live = self.console.is_terminal if live is None else live
        self.status: Status | None = None
        self.task = ""
        self.started = 0.0

    def _line(self, text: str, style: str = "") -> None:
        if self.live:
            self.console.print(text, style=style or None, markup=False)
        else:
            self.stream.write(text + "\n")
            self.stream.flush()

    def _spin(self, text: str) -> None:
        if not self.live:
            return
        if self.status is None:
            self.status = self.console.status(text)
            self.status.start()
        else:
            self.status.update(text)

    def close(self) -> None:
        """Stop the spinner, if any."""
        if self.status is not None:
            self.status.stop()
            self.status = None

    def run_started(self, plan: ExecutionPlan) -> None:
        """Name the run, its folder, and the order the tasks run in."""
        tasks, final = len(plan.order), len(plan.finally_tasks)
        trigger = f", trigger {plan.request.trigger}" if plan.request.trigger else ""
        self._line(f"PipelineRun {plan.request.name} (Pipeline {plan.pipeline.metadata.name}{trigger})", "bold")
        self._line(f"  {tasks} tasks and {final} finally, one at a time here; Tekton runs each level together:")
        for index, level in enumerate(plan.levels, 1):
            self._line(f"    {index}. {', '.join(level)}")
        self._line(f"  folder: {plan.directory}")
        self.started = time.monotonic()

    def taskrun_started(self, task: str, taskrun: str, matrix: dict[str, str]) -> None:
        """Announce a TaskRun."""
        combo = " [" + ", ".join(f"{k}={v}" for k, v in matrix.items()) + "]" if matrix else ""
        self.task = f"{task}{combo}"
        self._spin(self.task)

    def step_started(self, taskrun: str, step: str) -> None:
        """Show the step that runs."""
        self._spin(f"{self.task} › {step}")

    def step_finished(self, taskrun: str, step: StepRecord) -> None:
        """One line per step; the end of its log when it failed."""
        self._line(f"  {self.task} › {step.name}: {step.status} ({step.seconds:.2f}s)", _COLOURS.get(step.status, ""))
        if step.status == "Failed" and step.log is not None:
            self._line(f"    log: {step.log}")
            for line in _tail(step.log):
                self._line(f"    | {line}")

    def taskrun_finished(self, taskrun: TaskRunRecord) -> None:
        """Say why a TaskRun failed, when a step does not say it."""
        if not taskrun.succeeded and taskrun.message:
            self._line(f"  {self.task}: {taskrun.reason}: {taskrun.message}", "red")

    def task_finished(self, task: TaskRecord) -> None:
        """A skipped task, or one that failed validation."""
        if task.skip_reason:
            self._line(f"  {task.name}: Skipped ({task.skip_reason})", "dim")
        elif task.validation_error:
            self._line(f"  {task.name}: FailedValidation ({task.validation_error})", "red")

    def run_finished(self, run: PipelineRunRecord) -> None:
        """The PipelineRun's verdict."""
        self.close()
        self._line(
            f"PipelineRun {run.name}: {run.status} ({run.reason}: {run.message}) in {run.seconds:.1f}s",
            "bold " + _COLOURS.get(run.status, ""),
        )

    def note(self, message: str) -> None:
        """A note for people."""
        self._line(f"  note: {message}", "dim")


def _tail(path: object) -> Iterable[str]:
    from pathlib import Path

    try:
        lines = Path(str(path)).read_text(errors="replace").splitlines()
    except OSError:
        return []
    return lines[-_TAIL_LINES:]


def summary(runs: list[PipelineRunRecord]) -> str:
    """Plain text: per PipelineRun, every pipeline task with its status, seconds and reason."""
    lines = []
    for run in runs:
        lines.append(f"{run.name}  {run.status}  {run.seconds:.1f}s  ({run.reason})")
        names = [t.name + (" (finally)" if t.is_finally else "") for t in run.tasks]
        width = max((len(n) for n in names), default=4)
        lines.append(f"  {'task'.ljust(width)}  {'status':16}  {'seconds':>8}  reason")
        for name, task in zip(names, run.tasks, strict=True):
            reason = task.skip_reason or task.validation_error or ("" if task.succeeded else task.reason)
            lines.append(f"  {name.ljust(width)}  {task.shown_status:16}  {task.seconds:8.2f}  {reason}".rstrip())
        lines.append(f"  logs: {run.directory}")
    return "\n".join(lines)


def plan_text(plans: list[ExecutionPlan]) -> str:
    """The ``--dry-run`` text: per PipelineRun its params, workspace folders and task levels."""
    lines = []
    for plan in plans:
        lines.append(f"{plan.request.name}: Pipeline {plan.pipeline.metadata.name} (trigger {plan.request.trigger})")
        lines.extend(f"  param {key}: {value}" for key, value in plan.params.items())
        for source in plan.workspaces.values():
            lines.append(f"  workspace {source.name}: {source.path or '(unbound)'} ({source.origin})")
        lines.extend(f"  {index}. {', '.join(level)}" for index, level in enumerate(plan.levels, 1))
        if plan.finally_tasks:
            lines.append(f"  finally: {', '.join(plan.finally_tasks)}")
        lines.extend(f"  podTemplate {setting} (not applied here)" for setting in plan.request.pod_settings)
    return "\n".join(lines)
