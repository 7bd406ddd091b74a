"""The sandbox on the cluster: what a reset does there once the config repo holds the new mirror and TTL.

The config repo's state alone changes nothing that runs when production's images did not move: the pods,
the data people made and the database would outlive their TTL. So when the TTL runs out, ``sandbox reset
--cluster`` (the rendered TTL check) also, through the Kubernetes API:

- restarts every workload Shipyard deploys in the sandbox's namespace (label
  ``app.kubernetes.io/managed-by: shipyard``, nothing else): a Deployment's pod template gets
  ``kubectl.kubernetes.io/restartedAt`` (what ``kubectl rollout restart`` writes), a Rollout ``spec.restartAt``
  (what Argo Rollouts' ``restart`` writes). Argo CD compares against what it applied, so neither is drift;
- starts the sandbox database's job now, from its CronJob, which is suspended and runs only this way (what
  ``kubectl create job --from=cronjob/...`` does: the CronJob's job template, owned by the CronJob, marked
  ``cronjob.kubernetes.io/instantiate: manual``), so the data is renewed with the TTL, not on a schedule of
  its own.

The calls are those ``shipyard.k8s.jobaccess`` lists for the command; render grants exactly those.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from shipyard.k8s.api import KubeApi, KubeError
from shipyard.times import format_rfc3339

MANAGED = "app.kubernetes.io/managed-by=shipyard"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
MERGE_PATCH = "application/merge-patch+json"


@dataclass
class ClusterReset:
    """What the reset did on the cluster."""

    restarted: list[str] = field(default_factory=list)
    """``Kind/name`` of every workload restarted."""
    job: str | None = None
    """The database job started, when there is one."""

    def to_json(self) -> dict[str, Any]:
        """As JSON (see docs/sandbox.md)."""
        return {"restarted": self.restarted, "databaseJob": self.job}


def _patch(api: KubeApi, path: str, body: dict[str, Any], what: str) -> None:
    response = api.request("PATCH", path, body=body, content_type=MERGE_PATCH)
    if response.status_code != 200:
        raise KubeApi.refusal(what, response)


def reset_cluster(
    api: KubeApi, namespace: str, now: datetime, *, jobs_namespace: str, database_job: str | None
) -> ClusterReset:
    """Restart the sandbox's workloads and start its database job (see the module's docstring)."""
    stamp = format_rfc3339(now)
    done = ClusterReset()
    ns = quote(namespace)
    for item in api.list_items(f"/apis/apps/v1/namespaces/{ns}/deployments", "listing Deployments", selector=MANAGED):
        name = str((item.get("metadata") or {}).get("name"))
        body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
        _patch(api, f"/apis/apps/v1/namespaces/{ns}/deployments/{quote(name)}", body, f"restarting Deployment {name}")
        done.restarted.append(f"Deployment/{name}")
    rollouts = f"/apis/argoproj.io/v1alpha1/namespaces/{ns}/rollouts"
    try:
        found = list(api.list_items(rollouts, "listing Rollouts", selector=MANAGED))
    except KubeError as exc:
        if exc.status != 404:  # 404: Argo Rollouts is not installed there, so no Rollout runs
            raise
        found = []
    for item in found:
        name = str((item.get("metadata") or {}).get("name"))
        _patch(api, f"{rollouts}/{quote(name)}", {"spec": {"restartAt": stamp}}, f"restarting Rollout {name}")
        done.restarted.append(f"Rollout/{name}")
    if database_job:
        done.job = _start_job(api, jobs_namespace, database_job, now)
    return done


def _start_job(api: KubeApi, namespace: str, cronjob: str, now: datetime) -> str:
    """A Job from the CronJob's template, named for the minute (a second start in that minute is the same Job)."""
    base = f"/apis/batch/v1/namespaces/{quote(namespace)}"
    response = api.request("GET", f"{base}/cronjobs/{quote(cronjob)}")
    if response.status_code != 200:
        raise KubeApi.refusal(f"reading CronJob {cronjob}", response)
    source = response.json()
    template = ((source.get("spec") or {}).get("jobTemplate")) or {}
    metadata = source.get("metadata") or {}
    name = f"{cronjob}-{now:%Y%m%d%H%M}"[:63]
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": (template.get("metadata") or {}).get("labels") or {},
            "annotations": {"cronjob.kubernetes.io/instantiate": "manual"},
            "ownerReferences": [
                {
                    "apiVersion": "batch/v1",
                    "kind": "CronJob",
                    "name": cronjob,
                    "uid": metadata.get("uid"),
                    "controller": True,
                }
            ],
        },
        "spec": template.get("spec") or {},
    }
    created = api.request("POST", f"{base}/jobs", body=job)
    if created.status_code not in (200, 201, 409):  # 409: this minute's Job exists already
        raise KubeApi.refusal(f"starting Job {name}", created)
    return name
