"""What a run did, as data: steps, TaskRuns, pipeline tasks and the PipelineRun, each with ``to_json()``
(camelCase keys). Status words are Tekton's: a PipelineRun ``Succeeded``, ``Completed`` (some tasks skipped)
or ``Failed``; a pipeline task ``Succeeded``, ``Failed``, ``Skipped`` or ``None`` (never started)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.ci.run.variables import Value


@dataclass
class StepRecord:
    """One step: ``Succeeded``, ``Failed`` (ignored when ``onError: continue``) or ``Skipped``."""

    name: str
    status: str
    exit_code: int | None
    seconds: float
    log: Path | None
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON data of the step."""
        return {
            "name": self.name,
            "status": self.status,
            "exitCode": self.exit_code,
            "seconds": round(self.seconds, 3),
            "log": str(self.log) if self.log else None,
            "message": self.message or None,
        }


@dataclass
class TaskRunRecord:
    """One TaskRun: its matrix combination (if fanned out), outcome, steps and results."""

    name: str
    succeeded: bool
    reason: str
    seconds: float = 0.0
    message: str = ""
    matrix: dict[str, str] = field(default_factory=dict)
    steps: list[StepRecord] = field(default_factory=list)
    results: dict[str, Value] = field(default_factory=dict)
    directory: Path | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON data of the TaskRun."""
        return {
            "name": self.name,
            "status": "Succeeded" if self.succeeded else "Failed",
            "reason": self.reason,
            "message": self.message or None,
            "matrix": self.matrix or None,
            "seconds": round(self.seconds, 3),
            "results": self.results,
            "steps": [s.to_json() for s in self.steps],
        }


@dataclass
class TaskRecord:
    """One pipeline task: the TaskRuns it made, or why it was skipped, or why it could not start."""

    name: str
    is_finally: bool
    skip_reason: str | None = None
    validation_error: str | None = None
    ignore_failure: bool = False
    runs: list[TaskRunRecord] = field(default_factory=list)
    results: dict[str, Value] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        """Every TaskRun succeeded (Tekton's ``isSuccessful``)."""
        return bool(self.runs) and all(r.succeeded for r in self.runs)

    @property
    def failed(self) -> bool:
        """Some TaskRun failed (Tekton's ``haveAnyRunsFailed``; all runs are done when this is asked)."""
        return any(not r.succeeded for r in self.runs)

    @property
    def status(self) -> str:
        """``$(tasks.<name>.status)``: Succeeded, Failed, or None (skipped, or never ran)."""
        if self.succeeded:
            return "Succeeded"
        return "Failed" if self.failed else "None"

    @property
    def reason(self) -> str:
        """``$(tasks.<name>.reason)``: the first failed TaskRun's reason, else the first TaskRun's."""
        for run in self.runs:
            if not run.succeeded:
                return run.reason
        return self.runs[0].reason if self.runs else ""

    @property
    def seconds(self) -> float:
        """Time spent in this task's TaskRuns."""
        return sum(r.seconds for r in self.runs)

    @property
    def shown_status(self) -> str:
        """The status a person reads: Succeeded, Failed, FailureIgnored, Skipped, or FailedValidation."""
        if self.skip_reason:
            return "Skipped"
        if self.validation_error:
            return "FailedValidation"
        if self.failed and self.ignore_failure:
            return "FailureIgnored"
        return self.status

    def to_json(self) -> dict[str, Any]:
        """JSON data of the pipeline task."""
        return {
            "name": self.name,
            "finally": self.is_finally,
            "status": self.shown_status,
            "reason": self.skip_reason or self.validation_error or self.reason or None,
            "seconds": round(self.seconds, 3),
            "taskRuns": [r.to_json() for r in self.runs],
        }


@dataclass
class PipelineRunRecord:
    """One PipelineRun: Tekton's condition (status, reason, message) and every pipeline task."""

    name: str
    pipeline: str
    trigger: str | None
    directory: Path
    params: dict[str, Value]
    tasks: list[TaskRecord] = field(default_factory=list)
    succeeded: bool = False
    reason: str = ""
    message: str = ""
    seconds: float = 0.0
    step_seconds: float = 0.0

    @property
    def status(self) -> str:
        """Succeeded, Completed (succeeded with skipped tasks) or Failed."""
        if not self.succeeded:
            return "Failed"
        return "Completed" if self.reason == "Completed" else "Succeeded"

    def to_json(self) -> dict[str, Any]:
        """JSON data of the PipelineRun."""
        return {
            "name": self.name,
            "pipeline": self.pipeline,
            "trigger": self.trigger,
            "status": self.status,
            "succeeded": self.succeeded,
            "reason": self.reason,
            "message": self.message,
            "seconds": round(self.seconds, 3),
            "stepSeconds": round(self.step_seconds, 3),
            "directory": str(self.directory),
            "params": self.params,
            "tasks": [t.to_json() for t in self.tasks],
        }
