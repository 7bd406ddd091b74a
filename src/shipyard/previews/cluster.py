"""Live preview namespaces, read and deleted through Shipyard's small Kubernetes API client (``shipyard.k8s.api``).

Namespaces are listed in pages and read as the API's own JSON. A deletion carries preconditions on the
namespace's uid and resourceVersion, so what is deleted is exactly the object that was judged: a
namespace re-created or relabelled since the listing makes the delete fail, and is left for the next run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from shipyard.errors import ShipyardError
from shipyard.previews.gc import Candidate, Decision

if TYPE_CHECKING:
    from shipyard.k8s.api import KubeApi
    from shipyard.plan.progress import Progress

MANAGED_BY = {"app.kubernetes.io/managed-by": "shipyard"}


def api_client(kubeconfig: Path | None = None, context: str | None = None) -> KubeApi:
    """A Kubernetes API client: in-cluster credentials when running in a pod (the CronJob), else kubeconfig."""
    from shipyard.k8s.api import KubeApi
    from shipyard.k8s.kubeconfig import load_connection

    return KubeApi(load_connection(kubeconfig, context))


def namespace_candidate(item: Any) -> Candidate:
    """A clean-up candidate from one item of a NamespaceList (the API's JSON)."""
    metadata = item.get("metadata") if isinstance(item, dict) else None
    metadata = metadata if isinstance(metadata, dict) else {}
    status = item.get("status") if isinstance(item, dict) else None
    name = metadata.get("name")
    return Candidate(
        name=name if isinstance(name, str) else "",
        labels=metadata.get("labels"),
        annotations=metadata.get("annotations"),
        terminating=bool(metadata.get("deletionTimestamp"))
        or (isinstance(status, dict) and status.get("phase") == "Terminating"),
        uid=metadata.get("uid"),
        resource_version=metadata.get("resourceVersion"),
    )


def candidates_from_list(namespace_list: Any) -> list[Candidate]:
    """Candidates from a NamespaceList document (``kubectl get namespaces -o json`` has the same shape)."""
    items = namespace_list.get("items") if isinstance(namespace_list, dict) else None
    if not isinstance(items, list):
        raise ShipyardError("the Kubernetes API answered with something that is not a NamespaceList (no items)")
    return [namespace_candidate(item) for item in items]


def list_namespaces(client: KubeApi) -> Iterator[Candidate]:
    """Every namespace of the cluster, page by page; an API error stops with a ShipyardError (never a guess)."""
    for item in client.list_items("/api/v1/namespaces", "listing namespaces"):
        yield namespace_candidate(item)


@dataclass(frozen=True)
class Deleted:
    """The outcome of one namespace deletion."""

    name: str
    ok: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        """For JSON output."""
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


def delete_namespace(client: KubeApi, decision: Decision) -> Deleted:
    """Delete one orphan namespace, only if it is still the very object that was judged."""
    from shipyard.k8s.api import KubeError

    candidate = decision.candidate
    if not candidate.uid or not candidate.resource_version:
        return Deleted(decision.name, False, "no uid/resourceVersion to pin the deletion to; left alone")
    body = {
        "apiVersion": "v1",
        "kind": "DeleteOptions",
        "preconditions": {"uid": candidate.uid, "resourceVersion": candidate.resource_version},
    }
    try:
        response = client.request("DELETE", f"/api/v1/namespaces/{quote(decision.name, safe='')}", body=body)
    except KubeError as exc:
        return Deleted(decision.name, False, exc.message)
    if response.status_code == 404:
        return Deleted(decision.name, True, "already gone")
    if response.status_code == 409:
        return Deleted(decision.name, False, "changed since it was read; left for the next run")
    if not response.is_success:
        return Deleted(decision.name, False, f"HTTP {response.status_code} {response.reason_phrase}")
    return Deleted(decision.name, True, "deleting")


@dataclass
class ClusterGc:
    """The outcome of ``preview gc --cluster``: the decisions and, when applied, each deletion's result."""

    report: Any  # GcReport; typed loosely to keep this module's imports light for the CLI
    deleted: list[Deleted]
    dry_run: bool = False
    delete_orphans: bool = False

    def to_json(self) -> dict[str, Any]:
        """For JSON output: the decisions (as ``preview gc``'s) plus each deletion's result."""
        data: dict[str, Any] = self.report.to_json()
        return {
            **data,
            "dryRun": self.dry_run,
            "deleteOrphans": self.delete_orphans,
            "deleted": [d.to_json() for d in self.deleted],
        }


def cluster_gc(
    client: KubeApi,
    source: str,
    platform: Any,
    now: Any,
    *,
    max_deletions: int,
    delete_orphans: bool,
    dry_run: bool,
    progress: Progress | None = None,
) -> ClusterGc:
    """Report (and with ``delete_orphans`` delete) preview namespaces that have no directory in the config repo.

    ``progress`` counts the namespaces read, then the deletions.

    The cluster is read before the config repo: a directory always exists before its namespace, so a
    namespace seen first and then missing its directory really is an orphan, not a preview being opened.
    """
    from shipyard.git import temporary_clone
    from shipyard.plan.progress import Counter
    from shipyard.previews.cleanup import remote_tip
    from shipyard.previews.gc import plan_orphans
    from shipyard.previews.marks import NamePattern, protected_namespaces
    from shipyard.previews.read import committed_directories

    listed = Counter(progress, "read namespaces", None)
    namespaces: list[Candidate] = []
    for namespace in list_namespaces(client):
        namespaces.append(namespace)
        listed.step()
    with temporary_clone(source, "--bare") as clone:
        directories = committed_directories(clone, remote_tip(clone))
    protected = protected_namespaces([e.ns for e in platform.environments] + [platform.sandbox.namespace])
    report = plan_orphans(
        namespaces,
        directories,
        now=now,
        max_deletions=max_deletions,
        protected=protected,
        names=NamePattern(platform.preview.namespace),
        source=source,
    )
    deleted: list[Deleted] = []
    if delete_orphans and not dry_run:
        deleting = Counter(progress, "delete namespaces", len(report.delete))
        deleting.start()
        for decision in report.delete:
            deleted.append(delete_namespace(client, decision))
            deleting.step()
    return ClusterGc(report, deleted, dry_run=dry_run, delete_orphans=delete_orphans)


def ensure_db_secret(client: KubeApi, namespace: str, name: str, username: str, database: str) -> bool:
    """Create the preview database's Secret with a fresh random password unless it exists; True when created.

    Run inside the preview's namespace by its credentials Job, so the password is born there and never
    passes through git or CI. An existing Secret is kept: the database was initialised with it.
    """
    import secrets

    secrets_path = f"/api/v1/namespaces/{quote(namespace, safe='')}/secrets"
    what = f"secret {namespace}/{name}"
    found = client.request("GET", f"{secrets_path}/{quote(name, safe='')}")
    if found.status_code == 200:
        return False
    if found.status_code != 404:
        raise client.refusal(f"reading {what}", found)
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "labels": MANAGED_BY},
        "type": "Opaque",
        "stringData": {"username": username, "password": secrets.token_hex(32), "database": database},
    }
    created = client.request("POST", secrets_path, body=secret)
    if created.status_code == 409:  # another run of the Job created it first: theirs stands
        return False
    if not created.is_success:
        raise client.refusal(f"creating {what}", created)
    return True
