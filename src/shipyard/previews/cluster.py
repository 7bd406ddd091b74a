"""Live preview namespaces, read and deleted through the official Kubernetes Python client.

Namespaces are listed in pages and read as the API's own JSON (the client's model objects are slow to
build for thousands of namespaces and would hide fields we do not need). A deletion carries preconditions
on the namespace's uid and resourceVersion, so what is deleted is exactly the object that was judged: a
namespace re-created or relabelled since the listing makes the delete fail, and is left for the next run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.bounded import MAX_BODY, parse_json
from shipyard.errors import ShipyardError
from shipyard.previews.gc import Candidate, Decision

PAGE_SIZE = 500


def api_client(kubeconfig: Path | None = None, context: str | None = None) -> Any:
    """A Kubernetes ApiClient: in-cluster credentials when running in a pod (the CronJob), else kubeconfig."""
    from kubernetes import client, config

    try:
        if kubeconfig is None and context is None:
            try:
                config.load_incluster_config()  # type: ignore[no-untyped-call]
                return client.ApiClient()
            except config.ConfigException:
                pass
        configuration = client.Configuration()
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=str(kubeconfig) if kubeconfig else None, context=context, client_configuration=configuration
        )
        return client.ApiClient(configuration)
    except (config.ConfigException, OSError) as exc:
        raise ShipyardError(
            f"cannot configure the Kubernetes client: {exc}",
            hint="pass --kubeconfig FILE (and --context), or run in a pod with a service account",
        ) from None


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


def _api_error(action: str, exc: Exception) -> ShipyardError:
    status = getattr(exc, "status", None)
    reason = getattr(exc, "reason", None) or type(exc).__name__
    detail = f"HTTP {status} {reason}" if status else str(exc).splitlines()[0]
    return ShipyardError(f"Kubernetes API: {action} failed: {detail}")


def list_namespaces(client: Any) -> Iterator[Candidate]:
    """Every namespace of the cluster, page by page; an API error stops with a ShipyardError (never a guess)."""
    from kubernetes.client import CoreV1Api
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    api = CoreV1Api(client)
    token: str | None = None
    while True:
        try:
            kwargs: dict[str, Any] = {"limit": PAGE_SIZE, "_preload_content": False, "_request_timeout": 60}
            if token:
                kwargs["_continue"] = token
            response: Any = api.list_namespace(**kwargs)
            # At most MAX_BODY bytes of a page are read; a larger answer is not a NamespaceList of 500.
            page = parse_json(response.read(MAX_BODY + 1), "the namespace list", limit=MAX_BODY)
        except (ApiException, HTTPError) as exc:
            raise _api_error("listing namespaces", exc) from None
        yield from candidates_from_list(page)
        token = (page.get("metadata") or {}).get("continue") or None
        if not token:
            return


@dataclass(frozen=True)
class Deleted:
    """The outcome of one namespace deletion."""

    name: str
    ok: bool
    detail: str


def delete_namespace(client: Any, decision: Decision) -> Deleted:
    """Delete one orphan namespace, only if it is still the very object that was judged."""
    from kubernetes.client import CoreV1Api, V1DeleteOptions, V1Preconditions
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    candidate = decision.candidate
    if not candidate.uid or not candidate.resource_version:
        return Deleted(decision.name, False, "no uid/resourceVersion to pin the deletion to; left alone")
    body = V1DeleteOptions(
        preconditions=V1Preconditions(uid=candidate.uid, resource_version=candidate.resource_version)
    )
    try:
        CoreV1Api(client).delete_namespace(decision.name, body=body, _request_timeout=60)
    except ApiException as exc:
        if exc.status == 404:
            return Deleted(decision.name, True, "already gone")
        if exc.status == 409:
            return Deleted(decision.name, False, "changed since it was read; left for the next run")
        return Deleted(decision.name, False, f"HTTP {exc.status} {exc.reason}")
    except HTTPError as exc:
        return Deleted(decision.name, False, str(exc).splitlines()[0])
    return Deleted(decision.name, True, "deleting")


@dataclass
class ClusterGc:
    """The outcome of ``preview gc --cluster``: the decisions and, when applied, each deletion's result."""

    report: Any  # GcReport; typed loosely to keep this module's imports light for the CLI
    deleted: list[Deleted]


def cluster_gc(
    client: Any,
    source: str,
    platform: Any,
    now: Any,
    *,
    max_deletions: int,
    delete_orphans: bool,
    dry_run: bool,
) -> ClusterGc:
    """Report (and with ``delete_orphans`` delete) preview namespaces that have no directory in the config repo.

    The cluster is read before the config repo: a directory always exists before its namespace, so a
    namespace seen first and then missing its directory really is an orphan, not a preview being opened.
    """
    from shipyard.git import temporary_clone
    from shipyard.previews.cleanup import remote_tip
    from shipyard.previews.gc import plan_orphans
    from shipyard.previews.marks import NamePattern, protected_namespaces
    from shipyard.previews.read import committed_directories

    namespaces = list(list_namespaces(client))
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
        deleted = [delete_namespace(client, decision) for decision in report.delete]
    return ClusterGc(report, deleted)


def ensure_db_secret(client: Any, namespace: str, name: str, username: str, database: str) -> bool:
    """Create the preview database's Secret with a fresh random password unless it exists; True when created.

    Run inside the preview's namespace by its credentials Job, so the password is born there and never
    passes through git or CI. An existing Secret is kept: the database was initialised with it.
    """
    import secrets

    from kubernetes.client import CoreV1Api, V1ObjectMeta, V1Secret
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    api = CoreV1Api(client)
    try:
        api.read_namespaced_secret(name, namespace, _preload_content=False, _request_timeout=60)
        return False
    except ApiException as exc:
        if exc.status != 404:
            raise _api_error(f"reading secret {namespace}/{name}", exc) from None
    except HTTPError as exc:
        raise _api_error(f"reading secret {namespace}/{name}", exc) from None
    secret = V1Secret(
        metadata=V1ObjectMeta(name=name, labels={"app.kubernetes.io/managed-by": "shipyard"}),
        type="Opaque",
        string_data={"username": username, "password": secrets.token_hex(32), "database": database},
    )
    try:
        api.create_namespaced_secret(namespace, secret, _preload_content=False, _request_timeout=60)
    except ApiException as exc:
        if exc.status == 409:  # another run of the Job created it first: theirs stands
            return False
        raise _api_error(f"creating secret {namespace}/{name}", exc) from None
    except HTTPError as exc:
        raise _api_error(f"creating secret {namespace}/{name}", exc) from None
    return True
