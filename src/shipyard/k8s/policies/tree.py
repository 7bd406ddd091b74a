"""A config repo seen as the clusters will see it: its documents, the output of each built overlay, and the
Argo CD Applications that deploy them (where, how they sync, what their source builds to)."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from shipyard.k8s.argocd import CLUSTER_SECRET_LABEL, IN_CLUSTER
from shipyard.k8s.documents import Document

KUSTOMIZATION = "kustomization.yaml"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod", "Rollout")
NAME_LABEL = "app.kubernetes.io/name"


@dataclass(frozen=True)
class App:
    """An Argo CD Application of the tree: where it deploys, whether it syncs by itself, what it deploys."""

    doc: Document
    path: str | None
    """Its source path in the config repo (None for a chart)."""
    server: str
    namespace: str
    automated: bool
    recurse: bool
    built: list[Document] | None
    """What its source builds to, when it is an overlay that was built."""

    @property
    def name(self) -> str:
        """The Application's name."""
        return self.doc.name


class Tree:
    """The documents of a config repo, the built overlays (folder -> documents) and its Applications."""

    def __init__(self, documents: list[Document], builds: dict[str, list[Document]]) -> None:
        self.documents = documents
        self.builds = builds
        self.files = {doc.file: doc for doc in documents if doc.index == 1}
        self.cluster_servers = _cluster_servers(documents)
        self.applications = [self._app(doc) for doc in documents if doc.kind == "Application"]

    def kind(self, *kinds: str) -> list[Document]:
        """The documents of the tree of these kinds."""
        return [doc for doc in self.documents if doc.kind in kinds]

    def server(self, destination: dict[str, Any]) -> str:
        """The API server of an Application's destination (by ``server``, or by a cluster Secret's ``name``)."""
        if destination.get("server"):
            return str(destination["server"])
        name = str(destination.get("name") or "")
        return self.cluster_servers.get(name, "in-cluster" if name == "in-cluster" else f"(cluster named {name})")

    def _app(self, doc: Document) -> App:
        spec = doc.data.get("spec") or {}
        source = spec.get("source") or {}
        destination = spec.get("destination") or {}
        path = posixpath.normpath(source["path"]) if source.get("path") and not source.get("chart") else None
        server = self.server(destination)
        return App(
            doc=doc,
            path=path,
            server=IN_CLUSTER if server == "in-cluster" else server,
            namespace=str(destination.get("namespace") or ""),
            automated=(spec.get("syncPolicy") or {}).get("automated") is not None,
            recurse=bool((source.get("directory") or {}).get("recurse")),
            built=self.builds.get(path) if path else None,
        )

    def kustomization(self, folder: str) -> Document | None:
        """The kustomization of a folder of the tree, if it has one."""
        return self.files.get(f"{folder}/{KUSTOMIZATION}" if folder != "." else KUSTOMIZATION)

    def reads(self, folder: str) -> set[str]:
        """Every folder of the tree a kustomization reads, itself included: its resources and components that are
        folders with a kustomization, and theirs, and so on."""
        seen: set[str] = set()
        pending = [posixpath.normpath(folder)]
        while pending:
            current = pending.pop()
            if current in seen:
                continue
            seen.add(current)
            doc = self.kustomization(current)
            if doc is None:
                continue
            for entry in [*(doc.data.get("resources") or []), *(doc.data.get("components") or [])]:
                if isinstance(entry, str) and "://" not in entry:
                    target = posixpath.normpath(posixpath.join(current, entry))
                    if self.kustomization(target) is not None:
                        pending.append(target)
        return seen

    def deployer(self, doc: Document) -> App | None:
        """The Application that deploys a document of the tree as a plain file (a directory source)."""
        folder = posixpath.dirname(doc.file)
        for app in self.applications:
            if app.path is None or app.built is not None:
                continue
            if folder == app.path or (app.recurse and folder.startswith(f"{app.path}/")):
                return app
        return None


def strings(value: Any) -> Iterator[str]:
    """Every string inside a document's value, however deep (what a check scans for names or URLs)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)


def _cluster_servers(documents: list[Document]) -> dict[str, str]:
    """Cluster name -> server of every cluster Secret the tree declares (as an ExternalSecret's template)."""
    found: dict[str, str] = {}
    for doc in documents:
        if doc.kind == "ExternalSecret":
            template = ((doc.data.get("spec") or {}).get("target") or {}).get("template") or {}
            labels = (template.get("metadata") or {}).get("labels") or {}
            data = template.get("data") or {}
        elif doc.kind == "Secret":
            labels = (doc.data.get("metadata") or {}).get("labels") or {}
            data = doc.data.get("stringData") or {}
        else:
            continue
        if labels.get(CLUSTER_SECRET_LABEL) == "cluster" and isinstance(data, dict) and data.get("server"):
            found[str(data.get("name") or data["server"])] = str(data["server"])
    return found


def pod_spec(doc: Document) -> tuple[list[str | int], dict[str, Any]] | None:
    """Where a workload's pod spec is and the spec (a CronJob's through its job template), None when it has
    none."""
    spec = doc.data.get("spec") or {}
    if doc.kind == "Pod":
        return ["spec"], spec
    path: list[str | int] = ["spec", "template", "spec"]
    if doc.kind == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
        path = ["spec", "jobTemplate", "spec", "template", "spec"]
    found = (spec.get("template") or {}).get("spec")
    return (path, found) if isinstance(found, dict) else None


def containers(doc: Document) -> Iterator[tuple[list[str | int], dict[str, Any]]]:
    """Every container and init container of a workload, with its JSON path."""
    found = pod_spec(doc)
    if found is None:
        return
    path, pod = found
    for key in ("initContainers", "containers"):
        for index, container in enumerate(pod.get(key) or []):
            if isinstance(container, dict):
                yield [*path, key, index], container


def service_of(doc: Document) -> str:
    """Which service a workload belongs to: its ``app.kubernetes.io/name`` label, else its name."""
    labels = (doc.data.get("metadata") or {}).get("labels") or {}
    return str(labels.get(NAME_LABEL) or doc.name)
