"""Cross-object checks of what people reach and what pods pull: Ingresses against the ingress controller's
classes and TLS, previews against the images CI built, every pod against the platform's registry. Each check
names the upstream behaviour it encodes."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from typing import Any

import yaml

from shipyard.k8s.documents import Document, Finding, json_path
from shipyard.k8s.policies.tree import Tree

SPEC_CONFIGMAP = "shipyard-spec"
PREVIEWS = "previews/"
PR_ANNOTATION = "shipyard.dev/pr-number"
_POD_TEMPLATE: dict[str, list[str]] = {
    "Pod": ["spec"],
    "Deployment": ["spec", "template", "spec"],
    "StatefulSet": ["spec", "template", "spec"],
    "DaemonSet": ["spec", "template", "spec"],
    "ReplicaSet": ["spec", "template", "spec"],
    "Job": ["spec", "template", "spec"],
    "CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
}


def _finding(doc: Document, path: str, check: str, message: str) -> Finding:
    return Finding(doc.file, doc.index, doc.label, path, check, "error", message)


def _dig(data: Any, keys: list[str]) -> Any:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def pod_containers(doc: Document) -> Iterator[tuple[list[str | int], dict[str, Any]]]:
    """Every container and init container of a workload's pod template, with its JSON path."""
    keys = _POD_TEMPLATE.get(doc.kind)
    if keys is None:
        return
    pod = _dig(doc.data, keys)
    if not isinstance(pod, dict):
        return
    for field in ("initContainers", "containers"):
        for index, container in enumerate(pod.get(field) or []):
            if isinstance(container, dict):
                yield [*keys, field, index], container


def pod_spec(doc: Document) -> tuple[list[str], dict[str, Any]] | None:
    """A workload's pod spec and its path."""
    keys = _POD_TEMPLATE.get(doc.kind)
    pod = _dig(doc.data, keys) if keys else None
    return (keys, pod) if keys and isinstance(pod, dict) else None


def carried_spec(documents: list[Document]) -> dict[str, Any]:
    """``shipyard.yaml`` as the jobs carry it (the ``shipyard-spec`` ConfigMap), or {} when the tree has none."""
    for doc in documents:
        if doc.kind == "ConfigMap" and doc.name == SPEC_CONFIGMAP:
            spec = yaml.safe_load(str((doc.data.get("data") or {}).get("shipyard.yaml", ""))) or {}
            return spec if isinstance(spec, dict) else {}
    return {}


def _ingress_class_of_values(values: Any) -> tuple[str, Any] | None:
    """A chart's Ingress class in its values (Verdaccio's ``ingress``, Harbor's ``expose.ingress``)."""
    if not isinstance(values, dict):
        return None
    for path in (["ingress"], ["expose", "ingress"]):
        ingress = _dig(values, path)
        if isinstance(ingress, dict) and (ingress.get("enabled", True) is not False) and "hosts" in ingress:
            return ".".join([*path, "className"]), ingress.get("className")
    return None


def ingress_class(tree: Tree) -> list[Finding]:
    """``ingress/class``: an Ingress (or a chart's Ingress) whose class no ingress controller of the platform serves.

    ingress-nginx (``internal/ingress/controller/store``, ``GetIngressClass``) takes an Ingress only when its
    ``ingressClassName`` names an IngressClass of its own controller; one without a class only with
    ``--watch-ingress-without-class``. Otherwise the Ingress is ignored: no route, and the host answers 404.
    The classes served are the tree's IngressClasses, else those the environments' Ingresses use (the
    controllers every environment is reached through).
    """
    documents = tree.documents
    served = {d.name for d in documents if d.kind == "IngressClass"}
    if not served:
        served = {
            str((d.data.get("spec") or {}).get("ingressClassName"))
            for d in documents
            if d.kind == "Ingress"
            and d.file.startswith("overlays/")
            and (d.data.get("spec") or {}).get("ingressClassName")
        }
    if not served:
        return []
    known = ", ".join(sorted(served))
    findings: list[Finding] = []
    for doc in documents:
        if doc.kind == "Ingress":
            name = (doc.data.get("spec") or {}).get("ingressClassName")
            where = "$.spec.ingressClassName"
        elif doc.kind == "Application":
            helm = _dig(doc.data, ["spec", "source", "helm"]) or {}
            found = _ingress_class_of_values(helm.get("valuesObject"))
            if found is None:
                continue
            where, name = f"$.spec.source.helm.valuesObject.{found[0]}", found[1]
        else:
            continue
        if name not in served:
            what = f"class '{name}'" if name else "no class"
            findings.append(
                _finding(
                    doc,
                    where,
                    "ingress/class",
                    f"this Ingress has {what}, which no ingress controller of the platform serves ({known}): "
                    "ingress-nginx ignores it and its hosts answer 404",
                )
            )
    return findings


def ingress_tls(tree: Tree) -> list[Finding]:
    """``ingress/tls``: an Ingress host that no TLS entry of the Ingress lists.

    Every URL Shipyard announces (environments, previews posted to the pull request) is ``https://``.
    ingress-nginx (``internal/ingress/controller/controller.go``, ``createServers``) gives a host a certificate
    only from a TLS entry listing it (its Secret, or the default certificate when the entry has no
    ``secretName``), and redirects HTTP to HTTPS only for such hosts; any other host is served the
    controller's self-signed fake certificate, which every client refuses.
    """
    documents = tree.documents
    findings: list[Finding] = []
    for doc in (d for d in documents if d.kind == "Ingress"):
        spec = doc.data.get("spec") or {}
        covered = {h for t in spec.get("tls") or [] if isinstance(t, dict) for h in t.get("hosts") or []}
        for index, rule in enumerate(spec.get("rules") or []):
            host = rule.get("host") if isinstance(rule, dict) else None
            if host and host not in covered:
                findings.append(
                    _finding(
                        doc,
                        f"$.spec.rules[{index}].host",
                        "ingress/tls",
                        f"https://{host} is announced but no TLS entry lists {host}: ingress-nginx serves it its "
                        "fake self-signed certificate; list it under spec.tls",
                    )
                )
    return findings


def _base_images(documents: list[Document]) -> dict[str, set[str]]:
    """``base/<service>`` -> the images (without tag) its workloads run."""
    found: dict[str, set[str]] = {}
    for doc in documents:
        if doc.file.startswith("base/"):
            folder = posixpath.dirname(doc.file)
            for _, container in pod_containers(doc):
                image = str(container.get("image", ""))
                found.setdefault(folder, set()).add(re.split(r"[@]|:(?=[^/]*\Z)", image)[0])
    return found


def preview_images(tree: Tree) -> list[Finding]:
    """``previews/built-images``: a preview that runs an image CI did not build for its pull request.

    CI pushes ``pr-<n>-<sha7>`` only for the services a pull request affects. A preview kustomization that
    includes a service's base without setting its image to that tag runs the base's image as written
    (kustomize's ``images`` transformer changes only the names it lists; Shipyard's bases name an unpromoted
    digest that no registry holds, so the kubelet's pull fails), and one tag for another pull request or two
    commits runs what was built for something else; either pull fails or runs the wrong code.
    """
    documents = tree.documents
    bases = _base_images(documents)
    namespaces = {
        posixpath.dirname(d.file): d for d in documents if d.kind == "Namespace" and d.file.startswith(PREVIEWS)
    }
    findings: list[Finding] = []
    for doc in documents:
        if not (doc.file.startswith(PREVIEWS) and doc.kind == "Kustomization"):
            continue
        folder = posixpath.dirname(doc.file)
        namespace = namespaces.get(folder)
        annotations = _dig(namespace.data, ["metadata", "annotations"]) if namespace else None
        number = annotations.get(PR_ANNOTATION) if isinstance(annotations, dict) else None
        tags = {
            str(i.get("name")): str(i.get("newTag", "")) for i in doc.data.get("images") or [] if isinstance(i, dict)
        }
        shas = {tag.rsplit("-", 1)[-1] for tag in tags.values()}
        for index, resource in enumerate(doc.data.get("resources") or []):
            base = posixpath.normpath(posixpath.join(folder, str(resource)))
            for image in sorted(bases.get(base, ())):
                tag = tags.get(image)
                expected = f"pr-{number}-" if number else "pr-"
                if tag is None:
                    problem = f"does not set {image}: it runs the base's image as written, which CI never built"
                elif not tag.startswith(expected):
                    problem = f"runs {image}:{tag}, which is not a build of its pull request ({expected}<sha7>)"
                elif len(shas) > 1:
                    problem = f"runs {image}:{tag}, and its other images are of another commit"
                else:
                    continue
                findings.append(
                    _finding(
                        doc,
                        json_path(["resources", index]),
                        "previews/built-images",
                        f"preview {posixpath.basename(folder)} {problem}: a preview runs only the images CI built "
                        "for its commit",
                    )
                )
    return findings


def platform_registry(tree: Tree) -> list[Finding]:
    """``images/platform-registry``: a pod of the platform (an environment's, a preview's, a job's) whose image
    is not in the platform's registry (``registry.url`` of the spec the jobs carry).

    The clusters pull from the platform's registry with its credentials, and Harbor scans what it holds and
    refuses vulnerable pulls (``preventVulnerable``); an image from anywhere else is pulled unscanned, needs the
    internet (and its rate limits), and is not what the vulnerability gates looked at.
    """
    documents = tree.documents
    registry = str((carried_spec(documents).get("registry") or {}).get("url", "")).split("://", 1)[-1]
    if not registry or (carried_spec(documents).get("registry") or {}).get("kind") == "local":
        return []
    findings: list[Finding] = []
    for doc in documents:
        for where, container in pod_containers(doc):
            image = str(container.get("image", ""))
            if image and not image.startswith(registry.rstrip("/") + "/"):
                findings.append(
                    _finding(
                        doc,
                        json_path([*where, "image"]),
                        "images/platform-registry",
                        f"{image} is not in the platform's registry {registry}: mirror it there (base-images) and "
                        "pull it from there",
                    )
                )
    return findings
