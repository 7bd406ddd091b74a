"""``shipyard validate``: every document of a config repo against its schema, every overlay built with
``kubectl kustomize``, and Shipyard's policy checks. Each finding names the file, the document and
the JSON path, so it can be fixed without guessing."""

from __future__ import annotations

import os
import posixpath
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from shipyard.bounded import MAX_FILE, InputError, load_yaml_all, read_text
from shipyard.k8s.documents import Document, Finding, Report, json_path, kargo_steps
from shipyard.k8s.policies import check_policies
from shipyard.k8s.schemas import BuiltinSchemas, SchemaSet, errors_of, metadata_errors

_BUILTIN_GROUP = re.compile(r"[a-z0-9]+|[a-z0-9.]*\.k8s\.io")

# Still in Kargo's schema, but artifact discovery fails when they are set (Kargo v1.11).
DEPRECATED_SUBSCRIPTION_FIELDS = {"allowTags": "allowTagsRegexes", "ignoreTags": "ignoreTagsRegexes"}


def load_documents(root: Path) -> tuple[list[Document], list[Finding]]:
    """Every YAML document under ``root`` (not in .git), with findings for files that do not parse."""
    documents: list[Document] = []
    findings: list[Finding] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.endswith((".yaml", ".yml")):
                continue
            path = Path(dirpath) / name
            relative = path.relative_to(root).as_posix()
            try:
                loaded = load_yaml_all(read_text(path, MAX_FILE, relative), relative)
            except InputError as exc:  # not YAML, or over the size, depth or alias limits
                findings.append(Finding(relative, None, None, "$", "yaml", "error", exc.message))
                continue
            for index, data in enumerate(loaded, 1):
                if isinstance(data, dict):
                    documents.append(Document(relative, index, data))
    return documents, findings


def _kustomize_inputs(documents: list[Document]) -> set[str]:
    """Files a kustomization reads as patches or transformer configurations: partial objects, not resources."""
    inputs: set[str] = set()
    for doc in documents:
        if doc.kind not in ("Kustomization", "Component"):
            continue
        folder = Path(doc.file).parent
        entries = [p.get("path") for p in doc.data.get("patches") or [] if isinstance(p, dict)]
        entries += list(doc.data.get("configurations") or [])
        for entry in entries:
            if isinstance(entry, str):
                inputs.add(os.path.normpath((folder / entry).as_posix()))
    return inputs


def check_schemas(documents: list[Document], schemas: SchemaSet | None) -> list[Finding]:
    """Built-in kinds with kubernetes-validate (strict), custom kinds against their CRD schema, Kargo
    subscriptions and step configs against Kargo's JSON Schemas."""
    findings: list[Finding] = []
    builtin = BuiltinSchemas()
    unchecked: dict[tuple[str, str], list[Document]] = {}
    skip = _kustomize_inputs(documents)
    for doc in documents:
        api_version = doc.data.get("apiVersion")
        if not isinstance(api_version, str) or not doc.kind or doc.file in skip:
            continue
        if doc.kind in ("Kustomization", "Component") and api_version.startswith("kustomize.config.k8s.io/"):
            continue
        group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
        if not group or _BUILTIN_GROUP.fullmatch(group):
            builtin_validator = builtin.validator(api_version, doc.kind)
            if builtin_validator is None:
                message = f"unknown kind {api_version} {doc.kind}"
                findings.append(Finding(doc.file, doc.index, doc.label, "$.kind", "schema", "error", message))
            else:
                for error in errors_of(builtin_validator, doc.data):
                    path = json_path(error.absolute_path)
                    findings.append(Finding(doc.file, doc.index, doc.label, path, "schema", "error", error.message))
            continue
        validator = schemas.validator(api_version, doc.kind) if schemas else None
        if validator is None:
            unchecked.setdefault((api_version, doc.kind), []).append(doc)
            continue
        for error in errors_of(validator, doc.data):
            findings.append(
                Finding(
                    doc.file, doc.index, doc.label, json_path(error.absolute_path), "schema", "error", error.message
                )
            )
        for parts, message in metadata_errors(doc.data.get("metadata")):
            findings.append(
                Finding(doc.file, doc.index, doc.label, json_path(["metadata", *parts]), "schema", "error", message)
            )
        if schemas and api_version.startswith("kargo.akuity.io/"):
            findings += _kargo_parts(doc, schemas)
    for (api_version, kind), docs in sorted(unchecked.items()):
        # One warning per kind, not per document: a tree of 500 services would drown in them.
        hint = "" if schemas else " (pass --schemas DIR)"
        message = f"no schema for {api_version} {kind}: {len(docs)} document(s) not checked{hint}"
        findings.append(Finding(docs[0].file, docs[0].index, docs[0].label, "$", "schema", "warning", message))
    return findings


def _kargo_parts(doc: Document, schemas: SchemaSet) -> list[Finding]:
    findings: list[Finding] = []
    if doc.kind == "Warehouse":
        for index, subscription in enumerate((doc.data.get("spec") or {}).get("subscriptions") or []):
            if not isinstance(subscription, dict):
                continue
            for kind, body in subscription.items():
                validator = schemas.subscriptions.get(kind)
                where: list[str | int] = ["spec", "subscriptions", index, kind]
                if validator is None:
                    findings.append(
                        Finding(
                            doc.file,
                            doc.index,
                            doc.label,
                            json_path(where),
                            "schema",
                            "error",
                            f"unknown subscription kind '{kind}'",
                        )
                    )
                    continue
                for error in errors_of(validator, body):
                    path = json_path([*where, *error.absolute_path])
                    findings.append(Finding(doc.file, doc.index, doc.label, path, "schema", "error", error.message))
                for name, replacement in DEPRECATED_SUBSCRIPTION_FIELDS.items():
                    if isinstance(body, dict) and body.get(name):
                        message = (
                            f"'{name}' is deprecated: since Kargo v1.11 discovery fails with it; use {replacement}"
                        )
                        path = json_path([*where, name])
                        findings.append(
                            Finding(doc.file, doc.index, doc.label, path, "kargo/deprecated", "error", message)
                        )
    for where, step in kargo_steps(doc):
        uses = step.get("uses")
        if not isinstance(uses, str):
            continue
        validator = schemas.steps.get(uses)
        if validator is None:
            findings.append(
                Finding(
                    doc.file,
                    doc.index,
                    doc.label,
                    json_path([*where, "uses"]),
                    "schema",
                    "error",
                    f"unknown step '{uses}'",
                )
            )
            continue
        for error in errors_of(validator, step.get("config") or {}):
            path = json_path([*where, "config", *error.absolute_path])
            findings.append(Finding(doc.file, doc.index, doc.label, path, "schema", "error", error.message))
    return findings


def overlay_folders(documents: list[Document]) -> list[str]:
    """Every folder under ``overlays/`` with a kustomization that can be built (a Component cannot: it only
    ever transforms what includes it), relative to the tree."""
    folders = {
        posixpath.dirname(doc.file)
        for doc in documents
        if doc.file.startswith("overlays/")
        and doc.file.endswith("/kustomization.yaml")
        and doc.index == 1
        and doc.kind != "Component"
    }
    return sorted(folders)


def check_builds(root: Path, folders: list[str], kubectl: str) -> tuple[list[Finding], dict[str, str]]:
    """``kubectl kustomize`` of every folder: findings for the ones that fail, the output of the others."""

    def build(folder: str) -> subprocess.CompletedProcess[str]:
        # An absolute path: a folder named like an option is never read as one.
        command = [kubectl, "kustomize", str((root / folder).resolve())]
        return subprocess.run(command, capture_output=True, text=True, check=False)

    findings: list[Finding] = []
    built: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for folder, proc in zip(folders, pool.map(build, folders), strict=True):
            if proc.returncode != 0:
                message = " ".join(proc.stderr.split())[-600:] or f"kubectl kustomize exited {proc.returncode}"
                findings.append(Finding(f"{folder}/kustomization.yaml", None, None, "$", "kustomize", "error", message))
            else:
                built[folder] = proc.stdout
    return findings, built


def validate_tree(root: Path, schemas: SchemaSet | None, kubectl: str | None) -> Report:
    """Validate a config repo tree: schemas, builds (when ``kubectl`` is given) and policies."""
    documents, findings = load_documents(root)
    report = Report(documents=len(documents))
    findings += check_schemas(documents, schemas)
    builds: dict[str, list[Document]] = {}
    if kubectl:
        folders = overlay_folders(documents)
        report.overlays = len(folders)
        build_findings, built = check_builds(root, folders, kubectl)
        findings += build_findings
        for folder, text in sorted(built.items()):
            builds[folder] = [
                Document(f"{folder} (built)", index, data)
                for index, data in enumerate(load_yaml_all(text, f"{folder} (built)"), 1)
                if isinstance(data, dict)
            ]
            findings += check_schemas(builds[folder], schemas)
    findings += check_policies(documents, builds)
    report.findings = findings
    return report
