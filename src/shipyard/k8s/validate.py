"""``shipyard validate``: every document of a config repo against its schema, every overlay built with
``kubectl kustomize``, and Shipyard's policy checks. Each finding names the file, the document and
the JSON path, so it can be fixed without guessing."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from shipyard.bounded import MAX_FILE, InputError, load_yaml_all, read_text
from shipyard.k8s.schemas import BuiltinSchemas, SchemaSet, errors_of, metadata_errors

AUTHORIZED_STAGE = "kargo.akuity.io/authorized-stage"
PROTECTED_ENVIRONMENTS = ("preprod", "production")
_BUILTIN_GROUP = re.compile(r"[a-z0-9]+|[a-z0-9.]*\.k8s\.io")
_EXPRESSION = re.compile(r"\$\{\{\s*vars\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")

# Still in Kargo's schema, but artifact discovery fails when they are set (Kargo v1.11).
DEPRECATED_SUBSCRIPTION_FIELDS = {"allowTags": "allowTagsRegexes", "ignoreTags": "ignoreTagsRegexes"}

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Finding:
    """One result: where (file, 1-based document, kind/name, JSON path), which check, and what."""

    file: str
    document: int | None
    object: str | None
    path: str
    check: str
    severity: Severity
    message: str

    def line(self) -> str:
        """A one-line, human-readable form."""
        where = self.file + (f"#{self.document}" if self.document else "")
        what = f" {self.object}" if self.object else ""
        at = f" at {self.path}" if self.path and self.path != "$" else ""
        return f"{self.severity}: {where}{what}{at}: {self.message} [{self.check}]"


@dataclass
class Report:
    """All findings of a validation and what was looked at."""

    findings: list[Finding] = field(default_factory=list)
    documents: int = 0
    overlays: int = 0

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings and infos do not fail a validation)."""
        return not any(f.severity == "error" for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        """The report as data for ``--json``."""
        return {
            "ok": self.ok,
            "documents": self.documents,
            "overlays": self.overlays,
            "findings": [asdict(f) for f in self.findings],
        }


@dataclass(frozen=True)
class Document:
    """One YAML document of the tree."""

    file: str
    index: int
    data: dict[str, Any]

    @property
    def kind(self) -> str:
        """The document's kind."""
        return str(self.data.get("kind", ""))

    @property
    def name(self) -> str:
        """metadata.name."""
        meta = self.data.get("metadata")
        return str(meta.get("name", "")) if isinstance(meta, dict) else ""

    @property
    def label(self) -> str:
        """``Kind/name``."""
        return f"{self.kind}/{self.name}"


def json_path(parts: Any) -> str:
    """``$.spec.containers[0].image`` from a sequence of keys and indexes."""
    text = "$"
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


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


def _kargo_steps(doc: Document) -> Iterator[tuple[list[str | int], dict[str, Any]]]:
    spec = doc.data.get("spec") or {}
    if doc.kind == "Stage":
        steps = ((spec.get("promotionTemplate") or {}).get("spec") or {}).get("steps") or []
        prefix: list[str | int] = ["spec", "promotionTemplate", "spec", "steps"]
    elif doc.kind in ("PromotionTask", "ClusterPromotionTask"):
        steps = spec.get("steps") or []
        prefix = ["spec", "steps"]
    else:
        return
    for index, step in enumerate(steps):
        if isinstance(step, dict):
            yield [*prefix, index], step


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
    for where, step in _kargo_steps(doc):
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


def overlay_folders(root: Path) -> list[Path]:
    """Every ``overlays/<env>`` folder with a kustomization."""
    base = root / "overlays"
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if (p / "kustomization.yaml").is_file())


def check_builds(root: Path, kubectl: str) -> tuple[int, list[Finding], dict[str, str]]:
    """``kubectl kustomize`` of every overlay: findings for the ones that fail, the output of the others."""
    findings: list[Finding] = []
    built: dict[str, str] = {}
    folders = overlay_folders(root)
    for folder in folders:
        relative = (folder / "kustomization.yaml").relative_to(root).as_posix()
        # An absolute path: a folder named like an option is never read as one.
        command = [kubectl, "kustomize", str(folder.resolve())]
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            message = " ".join(proc.stderr.split())[-600:] or f"kubectl kustomize exited {proc.returncode}"
            findings.append(Finding(relative, None, None, "$", "kustomize", "error", message))
        else:
            built[folder.name] = proc.stdout
    return len(folders), findings, built


def check_policies(root: Path, documents: list[Document]) -> list[Finding]:
    """Shipyard's rules: pinned images once promoted, unique hosts, authorized Kargo-managed
    Applications, no Secret carrying data."""
    return (
        _pinned_images(root, documents)
        + _unique_hosts(documents)
        + _authorized_applications(documents)
        + _no_secret_data(documents)
    )


def _pinned_images(root: Path, documents: list[Document]) -> list[Finding]:
    findings: list[Finding] = []
    for env in PROTECTED_ENVIRONMENTS:
        relative = f"overlays/{env}/kustomization.yaml"
        doc = next((d for d in documents if d.file == relative and d.kind == "Kustomization"), None)
        if doc is None:
            continue
        images = [i for i in doc.data.get("images") or [] if isinstance(i, dict)]
        if images and not any(i.get("digest") for i in images):
            findings.append(
                Finding(
                    relative,
                    doc.index,
                    None,
                    "$.images",
                    "policy/pinned-images",
                    "info",
                    f"{env} was never promoted: its images still carry their initial tags",
                )
            )
            continue
        for index, image in enumerate(images):
            if not image.get("digest"):
                tag = image.get("newTag", "latest")
                findings.append(
                    Finding(
                        relative,
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


def _unique_hosts(documents: list[Document]) -> list[Finding]:
    seen: dict[str, list[tuple[Document, str]]] = {}
    for doc in documents:
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


def _step_apps(step: dict[str, Any], variables: dict[str, str]) -> list[str]:
    apps: list[str] = []
    for app in (step.get("config") or {}).get("apps") or []:
        name = app.get("name") if isinstance(app, dict) else None
        if isinstance(name, str):
            match = _EXPRESSION.fullmatch(name)
            apps.append(variables.get(match.group(1), name) if match else name)
    return apps


def _authorized_applications(documents: list[Document]) -> list[Finding]:
    tasks = {d.name: d for d in documents if d.kind == "PromotionTask"}
    applications = {d.name: d for d in documents if d.kind == "Application"}
    findings: list[Finding] = []
    for stage in (d for d in documents if d.kind == "Stage"):
        namespace = (stage.data.get("metadata") or {}).get("namespace", "")
        wanted = f"{namespace}:{stage.name}"
        apps: list[str] = []
        for _, step in _kargo_steps(stage):
            if step.get("uses") == "argocd-update":
                apps += _step_apps(step, {})
            task = step.get("task")
            if isinstance(task, dict) and task.get("name") in tasks:
                task_doc = tasks[str(task["name"])]
                variables = {v["name"]: v.get("value", "") for v in (task_doc.data.get("spec") or {}).get("vars") or []}
                variables.update({v["name"]: v.get("value", "") for v in step.get("vars") or []})
                for _, inner in _kargo_steps(task_doc):
                    if inner.get("uses") == "argocd-update":
                        apps += _step_apps(inner, variables)
        for app in apps:
            doc = applications.get(app)
            if doc is None:
                findings.append(
                    Finding(
                        stage.file,
                        stage.index,
                        stage.label,
                        "$.spec.promotionTemplate",
                        "policy/authorized-stage",
                        "error",
                        f"Stage {stage.name} updates Application '{app}', which is not in the tree",
                    )
                )
                continue
            annotations = (doc.data.get("metadata") or {}).get("annotations") or {}
            if annotations.get(AUTHORIZED_STAGE) != wanted:
                findings.append(
                    Finding(
                        doc.file,
                        doc.index,
                        doc.label,
                        f"$.metadata.annotations['{AUTHORIZED_STAGE}']",
                        "policy/authorized-stage",
                        "error",
                        f"Kargo Stage {stage.name} updates this Application, "
                        f"which must carry {AUTHORIZED_STAGE}: {wanted}",
                    )
                )
    return findings


def _no_secret_data(documents: list[Document]) -> list[Finding]:
    findings: list[Finding] = []
    for doc in documents:
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


def validate_tree(root: Path, schemas: SchemaSet | None, kubectl: str | None) -> Report:
    """Validate a config repo tree: schemas, builds (when ``kubectl`` is given) and policies."""
    documents, findings = load_documents(root)
    report = Report(documents=len(documents))
    findings += check_schemas(documents, schemas)
    if kubectl:
        report.overlays, build_findings, built = check_builds(root, kubectl)
        findings += build_findings
        for env, text in sorted(built.items()):
            rendered = [
                Document(f"overlays/{env} (built)", index, data)
                for index, data in enumerate(load_yaml_all(text, f"overlays/{env} (built)"), 1)
                if isinstance(data, dict)
            ]
            findings += check_schemas(rendered, schemas)
    findings += check_policies(root, documents)
    report.findings = findings
    return report
