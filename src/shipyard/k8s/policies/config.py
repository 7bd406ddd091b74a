"""Checks of the config repo's own files: promoted environments pinned by digest, one Ingress per host, no
Secret values in git."""

from __future__ import annotations

from shipyard.k8s.documents import Document, Finding
from shipyard.k8s.policies.tree import Tree

PROTECTED_ENVIRONMENTS = ("preprod", "production")


def pinned_images(tree: Tree) -> list[Finding]:
    """In preprod and production, once any image of the promotable state has a digest, every image must: a tag
    there is an error. An environment never promoted is said so (info)."""
    findings: list[Finding] = []
    for doc in tree.documents:
        parts = doc.file.split("/")
        if (
            doc.kind not in ("Kustomization", "Component")
            or len(parts) < 3
            or parts[0] != "overlays"
            or parts[1] not in PROTECTED_ENVIRONMENTS
            or "images" not in doc.data
        ):
            continue
        env = parts[1]
        images = [i for i in doc.data.get("images") or [] if isinstance(i, dict)]
        if not any(i.get("digest") for i in images):
            findings.append(
                Finding(
                    doc.file,
                    doc.index,
                    None,
                    "$.images",
                    "policy/pinned-images",
                    "info",
                    f"{env} was never promoted: its services run nothing until a promotion pins their digests",
                )
            )
            continue
        for index, image in enumerate(images):
            if not image.get("digest"):
                tag = image.get("newTag", "latest")
                findings.append(
                    Finding(
                        doc.file,
                        doc.index,
                        None,
                        f"$.images[{index}]",
                        "policy/pinned-images",
                        "error",
                        f"{image.get('name')} uses the mutable tag '{tag}' in {env}; "
                        "promoted environments pin every image by digest",
                    )
                )
    return findings


def unique_hosts(tree: Tree) -> list[Finding]:
    """No two Ingresses of the tree share a host (an ingress controller would merge or drop their rules)."""
    seen: dict[str, list[tuple[Document, str]]] = {}
    for doc in tree.documents:
        if doc.kind != "Ingress":
            continue
        for index, rule in enumerate((doc.data.get("spec") or {}).get("rules") or []):
            if isinstance(rule, dict) and rule.get("host"):
                seen.setdefault(rule["host"], []).append((doc, f"$.spec.rules[{index}].host"))
    findings: list[Finding] = []
    for host, places in sorted(seen.items()):
        if len(places) > 1:
            others = ", ".join(f"{d.file}#{d.index}" for d, _ in places)
            for doc, path in places:
                findings.append(
                    Finding(
                        doc.file,
                        doc.index,
                        doc.label,
                        path,
                        "policy/unique-hosts",
                        "error",
                        f"host {host} is used by {len(places)} Ingresses: {others}",
                    )
                )
    return findings


def no_secret_data(tree: Tree) -> list[Finding]:
    """No Secret with values in git: credentials are referenced by name, or come from the store."""
    findings: list[Finding] = []
    for doc in tree.documents:
        if doc.kind != "Secret":
            continue
        for key in ("data", "stringData"):
            if doc.data.get(key):
                findings.append(
                    Finding(
                        doc.file,
                        doc.index,
                        doc.label,
                        f"$.{key}",
                        "policy/no-secret-data",
                        "error",
                        "a Secret with values must never be in git; reference it by name or render an ExternalSecret",
                    )
                )
    return findings
