"""What the executor reports while it runs, for live progress. The library calls; the CLI shows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from shipyard.ci.run.plan import ExecutionPlan
    from shipyard.ci.run.records import PipelineRunRecord, StepRecord, TaskRecord, TaskRunRecord


class Observer(Protocol):
    """Receives the run's progress, in order. Every method must return quickly."""

    def run_started(self, plan: ExecutionPlan) -> None:
        """A PipelineRun begins."""

    def taskrun_started(self, task: str, taskrun: str, matrix: dict[str, str]) -> None:
        """A TaskRun of pipeline task ``task`` begins."""

    def step_started(self, taskrun: str, step: str) -> None:
        """A step's process starts."""

    def step_finished(self, taskrun: str, step: StepRecord) -> None:
        """A step ended (or was skipped)."""

    def taskrun_finished(self, taskrun: TaskRunRecord) -> None:
        """A TaskRun ended."""

    def task_finished(self, task: TaskRecord) -> None:
        """A pipeline task ended, or was skipped, or failed validation."""

    def run_finished(self, run: PipelineRunRecord) -> None:
        """A PipelineRun ended."""

    def note(self, message: str) -> None:
        """Something a person should know (an image ignored, privileges not granted)."""


class Quiet:
    """An observer that shows nothing."""

    def run_started(self, plan: ExecutionPlan) -> None:
        """Nothing."""

    def taskrun_started(self, task: str, taskrun: str, matrix: dict[str, str]) -> None:
        """Nothing."""

    def step_started(self, taskrun: str, step: str) -> None:
        """Nothing."""

    def step_finished(self, taskrun: str, step: StepRecord) -> None:
        """Nothing."""

    def taskrun_finished(self, taskrun: TaskRunRecord) -> None:
        """Nothing."""

    def task_finished(self, task: TaskRecord) -> None:
        """Nothing."""

    def run_finished(self, run: PipelineRunRecord) -> None:
        """Nothing."""

    def note(self, message: str) -> None:
        """Nothing."""
