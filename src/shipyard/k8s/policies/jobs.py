"""Jobs and CronJobs against the clusters: a cluster-local name works only in its own cluster."""

from __future__ import annotations

import re

from shipyard.k8s.documents import Document, Finding, json_path
from shipyard.k8s.policies.tree import App, Tree, containers, strings

JOB_KINDS = ("Job", "CronJob")
_LOCAL = re.compile(r"\b[a-z0-9]([-a-z0-9]*[a-z0-9])?\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc(\.cluster\.local)?\b")


def _namespaces(tree: Tree) -> dict[str, set[str]]:
    """Namespace -> the servers of the clusters where an Application deploys into it."""
    found: dict[str, set[str]] = {}
    for app in tree.applications:
        names = {app.namespace} if app.namespace else set()
        for doc in app.built or []:
            if doc.kind == "Namespace":
                names.add(doc.name)
            elif namespace := (doc.data.get("metadata") or {}).get("namespace"):
                names.add(str(namespace))
        for name in names:
            found.setdefault(name, set()).add(app.server)
    return found


def cluster_local_dns(tree: Tree) -> list[Finding]:
    """A Job or CronJob that reaches ``<service>.<namespace>.svc(.cluster.local)`` runs on a cluster where an
    Application deploys into that namespace.

    Kubernetes' cluster DNS answers ``*.svc.cluster.local`` names only for the Services of its own cluster: a
    job on another cluster (the sandbox's database clone on the staging cluster, say) cannot resolve the
    databases it works on.
    """
    placed = _namespaces(tree)
    jobs: list[tuple[Document, App]] = []
    for app in tree.applications:
        jobs += [(doc, app) for doc in app.built or [] if doc.kind in JOB_KINDS]
    for doc in tree.kind(*JOB_KINDS):
        owner = tree.deployer(doc)
        if owner is not None:
            jobs.append((doc, owner))
    findings: list[Finding] = []
    for doc, app in jobs:
        for where, container in containers(doc):
            for text in strings({k: container.get(k) for k in ("command", "args", "env")}):
                for match in _LOCAL.finditer(text):
                    namespace = match.group(2)
                    servers = placed.get(namespace)
                    if not servers or app.server in servers:
                        continue
                    findings.append(
                        Finding(
                            doc.file,
                            doc.index,
                            doc.label,
                            json_path(where),
                            "policy/cluster-local-dns",
                            "error",
                            f"{doc.kind} {doc.name} runs on {app.server} (Application {app.name}) but reaches "
                            f"{match.group(0)}, in namespace {namespace}, which is deployed on "
                            f"{', '.join(sorted(servers))}: cluster-local names resolve only in their own cluster",
                        )
                    )
    return findings
