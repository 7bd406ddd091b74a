"""What processing a delivery means in each mode.

- **embedded** (a laptop, a CI machine, the demo): a GitHub delivery runs the rendered pipelines with
  ``ci run``'s library (``load_catalog``, ``prepare``, ``run_all``), exactly as ``shipyard ci run`` would.
- **cluster**: Tekton's EventListener runs the pipelines; a GitHub delivery is recorded, and handed on to
  the EventListener byte for byte (with its signature, which the listener checks again) when one is set.
- A Harbor delivery, in either mode, updates the pull request's comment (``harbor_scan``).
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.errors import ShipyardError
from shipyard.serve.events import Hub
from shipyard.serve.harbor_hook import parse_harbor
from shipyard.serve.queue import Delivery
from shipyard.serve.settings import Settings

if TYPE_CHECKING:
    from shipyard.ci.run import ExecutionPlan, PipelineRunRecord, StepRecord, TaskRecord, TaskRunRecord

# The GitHub headers a pipeline run (and the EventListener) sees; everything else the sender sent is dropped.
FORWARDED = ("Content-Type", "User-Agent", "X-GitHub-Event", "X-GitHub-Delivery", "X-Hub-Signature-256")
ALLOWLIST_FILE = "scan-allowlist.yaml"


class HubObserver:
    """Tells ``/events`` streams how a delivery's PipelineRuns progress (run and TaskRun changes)."""

    def __init__(self, hub: Hub, delivery: str) -> None:
        self.hub = hub
        self.delivery = delivery

    def _send(self, **data: Any) -> None:
        self.hub.publish("pipeline", {"delivery": self.delivery, **data})

    def run_started(self, plan: ExecutionPlan) -> None:
        """A PipelineRun begins."""
        self._send(pipelineRun=plan.request.name, pipeline=plan.pipeline.metadata.name, state="running")

    def taskrun_started(self, task: str, taskrun: str, matrix: dict[str, str]) -> None:
        """A TaskRun begins."""
        self._send(task=task, taskRun=taskrun, state="running")

    def step_started(self, taskrun: str, step: str) -> None:
        """Steps are too many to stream; TaskRuns say enough."""

    def step_finished(self, taskrun: str, step: StepRecord) -> None:
        """Steps are too many to stream; TaskRuns say enough."""

    def taskrun_finished(self, taskrun: TaskRunRecord) -> None:
        """A TaskRun ended."""
        self._send(taskRun=taskrun.name, state="Succeeded" if taskrun.succeeded else "Failed")

    def task_finished(self, task: TaskRecord) -> None:
        """A pipeline task ended or was skipped."""
        self._send(task=task.name, state=task.shown_status)

    def run_finished(self, run: PipelineRunRecord) -> None:
        """A PipelineRun ended."""
        self._send(pipelineRun=run.name, pipeline=run.pipeline, state=run.status)

    def note(self, message: str) -> None:
        """Notes stay in the run's record."""


def github_headers(delivery: Delivery) -> dict[str, str]:
    """The headers kept with a delivery, as GitHub spelled them."""
    return {name: delivery.headers[name] for name in FORWARDED if name in delivery.headers}


def run_pipelines(settings: Settings, hub: Hub, delivery: Delivery) -> dict[str, Any]:
    """Embedded mode: the pipelines this delivery starts, run here; the outcome names each PipelineRun."""
    from shipyard.ci.run import load_catalog, prepare, run_all

    if settings.tekton is None:
        raise ShipyardError("embedded mode needs the rendered tekton/ folder")
    body = json.loads(delivery.body)
    headers = {"Content-Type": "application/json", "X-Github-Event": delivery.event}
    folder = run_folder(settings, delivery.name)
    if delivery.recovered and folder.exists():
        # The attempt a stop interrupted: kept aside for reading, so the run starts again from clean folders.
        aside = folder.with_name(f"{folder.name}.interrupted")
        shutil.rmtree(aside, ignore_errors=True)
        folder.rename(aside)
    prepared = prepare(
        load_catalog(settings.tekton),
        delivery.event,
        body,
        headers,
        folder.resolve(),
        dict(settings.workspaces),
        signature_checked=True,
        rng=random.Random(delivery.seq),  # names and uids follow from the delivery: a rerun reuses them
    )
    if prepared.ignored:
        return {"status": "ignored", "reason": prepared.ignored, "run": prepared.to_json()}
    run_all(prepared, HubObserver(hub, delivery.name))
    status = "succeeded" if prepared.succeeded else "failed"
    reason = None if prepared.succeeded else ", ".join(f"{r.name} {r.status}" for r in prepared.runs)
    return {"status": status, "reason": reason, "run": prepared.to_json()}


def record_event(settings: Settings, delivery: Delivery) -> dict[str, Any]:
    """Cluster mode: the event is recorded (the event log has it); handed on to the EventListener if set."""
    if settings.forward_to is None:
        return {"status": "recorded"}
    import httpx

    from shipyard.httpcalls import client as http_client
    from shipyard.httpcalls import send
    from shipyard.retry import HTTP, GaveUp, Retrier

    with http_client(timeout=30.0) as client:
        try:
            reply = send(
                Retrier(HTTP),
                "POST",
                lambda: client.post(settings.forward_to or "", content=delivery.body, headers=github_headers(delivery)),
            )
        except (GaveUp, httpx.TransportError) as exc:
            return {"status": "failed", "reason": f"the EventListener did not take it ({type(exc).__name__})"}
    if not reply.is_success:
        return {"status": "failed", "reason": f"the EventListener answered {reply.status_code}"}
    return {"status": "forwarded", "listener": reply.status_code}


def scan_feedback(settings: Settings, delivery: Delivery) -> dict[str, Any]:
    """A Harbor scan's result on the pull request (either mode)."""
    from shipyard.github.client import GitHubClient
    from shipyard.registry.harbor.client import HarborClient
    from shipyard.serve.harbor_scan import GatePolicy, process_scan

    if settings.harbor is None or settings.github is None:
        raise ShipyardError("the Harbor hook needs Harbor's URL and GitHub's token and repository")
    event = parse_harbor(delivery.body)
    threshold = settings.platform.registry.scan.severity_threshold if settings.platform else "high"
    allowlist = settings.root / ALLOWLIST_FILE if settings.root else None
    policy = GatePolicy(threshold, allowlist if allowlist and allowlist.is_file() else None)
    harbor = HarborClient(settings.harbor.url, settings.harbor.credentials)
    github = GitHubClient(token=settings.github.token, api_url=settings.github.api_url)
    try:
        return process_scan(event, harbor, github, settings.github.repo, policy)
    finally:
        harbor.close()
        github.close()


def processor(settings: Settings, hub: Hub) -> Any:
    """The function the dispatcher calls for each delivery, for these settings."""

    def process(delivery: Delivery) -> dict[str, Any]:
        if delivery.source == "harbor":
            return scan_feedback(settings, delivery)
        if settings.mode == "cluster":
            return record_event(settings, delivery)
        return run_pipelines(settings, hub, delivery)

    return process


def run_folder(settings: Settings, name: str) -> Path:
    """Where an embedded delivery's runs are kept."""
    return settings.runs_dir / name
