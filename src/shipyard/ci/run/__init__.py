"""``shipyard ci run``: the rendered Tekton objects executed on this machine, with Tekton's semantics.

The EventListener picks the triggers, their bindings and templates make PipelineRuns, and each Pipeline's
tasks run as processes here, in DAG order, then its finally tasks. A Tekton feature the executor does not
implement is an ``UnsupportedFeature`` error before anything runs.
"""

from shipyard.ci.run.catalog import Catalog, load_catalog
from shipyard.ci.run.engine import execute
from shipyard.ci.run.errors import TektonInputError, UnsupportedFeature
from shipyard.ci.run.observer import Observer, Quiet
from shipyard.ci.run.plan import ExecutionPlan, RunRequest, make_plan
from shipyard.ci.run.records import PipelineRunRecord, StepRecord, TaskRecord, TaskRunRecord
from shipyard.ci.run.runner import EventRun, prepare, run_all, run_event

__all__ = [
    "Catalog",
    "EventRun",
    "ExecutionPlan",
    "Observer",
    "PipelineRunRecord",
    "Quiet",
    "RunRequest",
    "StepRecord",
    "TaskRecord",
    "TaskRunRecord",
    "TektonInputError",
    "UnsupportedFeature",
    "execute",
    "load_catalog",
    "make_plan",
    "prepare",
    "run_all",
    "run_event",
]
