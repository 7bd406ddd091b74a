"""Argo CD Applications as Argo CD will run them: what each deploys, where, and from which images."""

from __future__ import annotations

from shipyard.k8s.argocd import CLUSTER_SECRET_LABEL, IN_CLUSTER
from shipyard.k8s.documents import Document, Finding, json_path
from shipyard.k8s.policies.tree import WORKLOAD_KINDS, Tree, containers, service_of

# Kinds that are not namespaced, among those a config repo deploys: their identity has no namespace.
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "ClusterSecretStore",
    "ClusterAnalysisTemplate",
    "ClusterPromotionTask",
    "PriorityClass",
    "StorageClass",
    "IngressClass",
}


def app_per_service(tree: Tree) -> list[Finding]:
    """An Application built from an overlay deploys the workloads of one service.

    Argo CD syncs, reports health and fails per Application, and its RBAC grants per Application
    (``p, role:payments, applications, sync, <project>/payment-*``). One Application for many services gives
    them one sync, one health, one failure, and no team can be given only its own.
    """
    findings: list[Finding] = []
    for app in tree.applications:
        if app.built is None:
            continue
        services = sorted({service_of(doc) for doc in app.built if doc.kind in WORKLOAD_KINDS})
        if len(services) > 1:
            findings.append(
                Finding(
                    app.doc.file,
                    app.doc.index,
                    app.doc.label,
                    "$.spec.source.path",
                    "argocd/app-per-service",
                    "error",
                    f"this Application deploys {len(services)} services ({', '.join(services)}): they would sync, "
                    "report health and fail as one, and Argo CD's RBAC could not give a team only its own; "
                    "deploy each service of each environment with its own Application",
                )
            )
    return findings


def _identity(doc: Document, default_namespace: str) -> tuple[str, str, str, str]:
    api_version = str(doc.data.get("apiVersion", ""))
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    namespace = (
        ""
        if doc.kind in CLUSTER_SCOPED
        else str((doc.data.get("metadata") or {}).get("namespace") or default_namespace)
    )
    return group, doc.kind, namespace, doc.name


def one_owner(tree: Tree) -> list[Finding]:
    """No object is deployed by two Applications to one cluster.

    Argo CD tracks an object as its Application's (the tracking annotation, Argo CD 3's default); an object two
    Applications deploy is reported with ``SharedResourceWarning`` (controller/state.go), and each sync takes it
    from the other: with automated sync and prune they fight over it, and deleting one deletes it for both.
    """
    owners: dict[tuple[str, str, str, str, str], list[str]] = {}
    for app in tree.applications:
        if app.built is None:
            continue
        for doc in app.built:
            owners.setdefault((app.server, *_identity(doc, app.namespace)), []).append(app.name)
    findings: list[Finding] = []
    apps = {app.name: app for app in tree.applications}
    for (server, _, kind, namespace, name), names in sorted(owners.items()):
        if len(set(names)) < 2:
            continue
        where = f"{namespace}/{name}" if namespace else name
        for app_name in sorted(set(names)):
            doc = apps[app_name].doc
            others = ", ".join(sorted(set(names) - {app_name}))
            findings.append(
                Finding(
                    doc.file,
                    doc.index,
                    doc.label,
                    "$.spec.source.path",
                    "argocd/one-owner",
                    "error",
                    f"{kind} {where} on {server} is also deployed by {others}: Argo CD reports it as shared "
                    "and each sync takes it from the other; give it to one Application",
                )
            )
    return findings


def _tag(image: str) -> str | None:
    """The tag of an image reference (None when it has none); a digest is not a tag."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def mutable_tags(tree: Tree) -> list[Finding]:
    """An Application with automated sync runs every image by digest.

    Argo CD applies an automated Application's overlay as soon as it is in git, so whatever it names runs at
    once. A tag moves (alpha, beta, stable, latest, or none, which is latest), and Kubernetes pulls an image
    with a tag other than latest only when the node lacks it (imagePullPolicy defaults to IfNotPresent,
    pkg/apis/core/v1/defaults.go): every node keeps whichever build it pulled first, and a rollback or a new
    node runs something else again.
    """
    findings: list[Finding] = []
    for app in tree.applications:
        if not app.automated or app.built is None:
            continue
        for doc in app.built:
            if doc.kind not in WORKLOAD_KINDS:
                continue
            for where, container in containers(doc):
                image = str(container.get("image") or "")
                if not image or "@" in image:
                    continue
                tag = _tag(image)
                policy = container.get("imagePullPolicy") or ("Always" if tag in (None, "latest") else "IfNotPresent")
                shown = f"tag '{tag}'" if tag else "no tag (so latest)"
                findings.append(
                    Finding(
                        doc.file,
                        doc.index,
                        doc.label,
                        json_path([*where, "image"]),
                        "argocd/mutable-tags",
                        "error",
                        f"Application {app.name} syncs by itself and runs {image} by {shown} with imagePullPolicy "
                        f"{policy}: the tag moves and each node keeps the build it pulled first; pin a digest",
                    )
                )
    return findings


def _registered(tree: Tree) -> set[str]:
    return set(tree.cluster_servers.values())


def cluster_credentials(tree: Tree) -> list[Finding]:
    """Every destination other than Argo CD's own cluster has a cluster Secret made from the secret store.

    Argo CD reaches a destination server only through a Secret of its namespace labelled
    ``argocd.argoproj.io/secret-type: cluster`` holding its ``server`` and connection ``config``
    (util/argo/argo.go ``GetDestinationCluster``); without one the Application fails before it syncs. The
    credentials must come from the store: a Secret with values in git is refused by ``policy/no-secret-data``.
    """
    registered = _registered(tree)
    findings: list[Finding] = []
    for doc in tree.kind("Application", "ApplicationSet"):
        spec = doc.data.get("spec") or {}
        path = ["spec", "destination"]
        if doc.kind == "ApplicationSet":
            spec = ((spec.get("template") or {}).get("spec")) or {}
            path = ["spec", "template", "spec", "destination"]
        destination = spec.get("destination") or {}
        server = tree.server(destination)
        if server in (IN_CLUSTER, "in-cluster") or server in registered or "{{" in server:
            continue
        findings.append(
            Finding(
                doc.file,
                doc.index,
                doc.label,
                json_path(path),
                "argocd/cluster-credentials",
                "error",
                f"Argo CD knows no cluster at {server}: declare its cluster Secret (label {CLUSTER_SECRET_LABEL}: "
                "cluster) as an ExternalSecret, so the credentials come from the secret store and never from git",
            )
        )
    return findings
