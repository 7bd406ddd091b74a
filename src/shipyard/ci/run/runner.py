"""A webhook delivery, end to end: the triggers that fire, a checked plan for each PipelineRun they create
(all made before anything runs, so bad input changes nothing), then the runs, one after the other."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.ci.run.catalog import Catalog, load_catalog
from shipyard.ci.run.engine import execute
from shipyard.ci.run.errors import TektonInputError
from shipyard.ci.run.observer import Observer, Quiet
from shipyard.ci.run.plan import ExecutionPlan, RunRequest, make_plan
from shipyard.ci.run.records import PipelineRunRecord
from shipyard.ci.run.triggers import Selection, TriggeredRun, select
from shipyard.k8s.tekton import PodTemplate


@dataclass
class EventRun:
    """What one delivery did: its PipelineRuns, or why it started none."""

    event: str
    listener: str
    workdir: Path
    signature_checked: bool
    ignored: str | None
    plans: list[ExecutionPlan]
    runs: list[PipelineRunRecord] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        """Every PipelineRun succeeded (or none was started)."""
        return all(r.succeeded for r in self.runs)

    def to_json(self) -> dict[str, Any]:
        """JSON data (camelCase keys), for ``--json``."""
        return {
            "event": self.event,
            "listener": self.listener,
            "signatureChecked": self.signature_checked,
            "workdir": str(self.workdir),
            "ignored": self.ignored,
            "succeeded": self.succeeded,
            "pipelineRuns": [r.to_json() for r in self.runs],
        }

    def plan_json(self) -> dict[str, Any]:
        """The plans as JSON data, for ``--dry-run --json``."""
        return {
            "event": self.event,
            "listener": self.listener,
            "signatureChecked": self.signature_checked,
            "workdir": str(self.workdir),
            "ignored": self.ignored,
            "pipelineRuns": [p.to_json() for p in self.plans],
        }


def request_for(triggered: TriggeredRun) -> RunRequest:
    """The RunRequest of a PipelineRun a trigger created."""
    spec = triggered.run.spec
    workspaces: dict[str, str] = {}
    for ws in spec.workspaces:
        if ws.volume_claim_template is not None:
            workspaces[ws.name] = "volumeClaimTemplate"
        elif ws.secret is not None:
            workspaces[ws.name] = f"Secret {ws.secret.secret_name}"
        else:
            raise TektonInputError(f"PipelineRun {triggered.name}: workspace {ws.name} has no volume")
    params = {p.name: p.value for p in spec.params}
    return RunRequest(
        triggered.name,
        spec.pipeline_ref.name,
        params,
        workspaces,
        triggered.namespace,
        triggered.trigger,
        pod_settings(spec.task_run_template.pod_template),
    )


def pod_settings(template: PodTemplate | None) -> tuple[str, ...]:
    """The pod-level settings of a PipelineRun's ``podTemplate`` as ``field: value`` lines.

    They decide where a pod is scheduled and which user and group own its processes and volumes. Here every step
    is a process of this user on this machine, so they are accepted, shown, and not applied.
    """
    if template is None:
        return ()
    lines: list[str] = []
    for key, value in template.to_dict().items():
        if key == "securityContext" and isinstance(value, dict):
            lines.extend(f"securityContext.{k}: {json.dumps(v)}" for k, v in value.items())
        else:
            lines.append(f"{key}: {json.dumps(value, sort_keys=True)}")
    return tuple(lines)


def prepare(
    catalog: Catalog,
    event: str,
    body: Any,
    headers: dict[str, str],
    workdir: Path,
    workspaces: dict[str, Path],
    *,
    signature_checked: bool,
    rng: random.Random | None = None,
) -> EventRun:
    """Select the triggers and plan every PipelineRun they create; raise before anything runs."""
    # A name no Pipeline of the folder declares is a typo; one this event's Pipelines do not use is fine.
    declared = {w.name for p in catalog.pipelines.values() for w in p.spec.workspaces or []}
    unknown = sorted(set(workspaces) - declared)
    if unknown:
        raise TektonInputError(f"--workspace {unknown[0]}: no Pipeline declares it ({', '.join(sorted(declared))})")
    rng = rng or random.Random()
    selection: Selection = select(catalog, event, body, headers, rng)
    plans = []
    for triggered in selection.runs:
        uid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        plans.append(make_plan(catalog, request_for(triggered), workdir / triggered.name, workspaces, uid))
    return EventRun(event, selection.listener, workdir, signature_checked, selection.ignored, plans)


def run_all(prepared: EventRun, observer: Observer, env: dict[str, str] | None = None) -> EventRun:
    """Execute the prepared PipelineRuns in turn (Tekton would run them side by side).

    ``env`` is the environment the steps start from (default: this process's).
    """
    for plan in prepared.plans:
        prepared.runs.append(execute(plan, observer, env))
    return prepared


def run_event(
    app_dir: Path,
    event: str,
    body: Any,
    workdir: Path,
    workspaces: dict[str, Path] | None = None,
    *,
    observer: Observer | None = None,
    env: dict[str, str] | None = None,
) -> EventRun:
    """``shipyard ci run`` from Python: deliver ``body`` as a GitHub ``event`` to the rendered ``app_dir/tekton``
    and run every PipelineRun it starts, in ``workdir``.

    ``workspaces`` gives the folders of the Secret workspaces (``registry-auth``, ``git-credentials``, ...).
    The delivery is taken as authentic (there is no signature to check from Python). Bad input raises a
    ``ShipyardError`` before anything runs; a failed pipeline is a run whose ``succeeded`` is False.
    """
    catalog = load_catalog(app_dir / "tekton")
    headers = {"Content-Type": "application/json", "X-Github-Event": event}
    folders = {name: path.resolve() for name, path in (workspaces or {}).items()}
    prepared = prepare(catalog, event, body, headers, workdir.resolve(), folders, signature_checked=False)
    return run_all(prepared, observer or Quiet(), env)
