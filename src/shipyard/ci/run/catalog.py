"""Load the rendered ``tekton/`` folder into the typed Tekton models, the way ``kubectl apply -k`` would see
it: the files its kustomization lists (or every YAML file when there is none), one object per document.

Every field the models do not know is a Tekton feature ``ci run`` does not execute, and is refused by name.
Objects of other API groups (ServiceAccounts, RBAC) mean nothing on one machine and are not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import ValidationError

from shipyard.ci.run.errors import TektonInputError, UnsupportedFeature
from shipyard.errors import ShipyardError
from shipyard.k8s.base import K8sModel
from shipyard.k8s.tekton import EventListener, Pipeline, Task, TriggerBinding, TriggerTemplate

MAX_FILE_BYTES = 4 * 1024 * 1024  # the rendered files are a few KiB; anything this large is not a tekton/ folder
_MAYBE_ANCHOR = re.compile(r"(?:^|[\s\[{,:-])&[^\s&]", re.MULTILINE)
_KUSTOMIZATION_FIELDS = {"apiVersion", "kind", "resources"}
_TEKTON_GROUPS = ("tekton.dev/", "triggers.tekton.dev/")
_MODELS: dict[tuple[str, str], type[K8sModel]] = {
    ("tekton.dev/v1", "Task"): Task,
    ("tekton.dev/v1", "Pipeline"): Pipeline,
    ("triggers.tekton.dev/v1beta1", "TriggerBinding"): TriggerBinding,
    ("triggers.tekton.dev/v1beta1", "TriggerTemplate"): TriggerTemplate,
    ("triggers.tekton.dev/v1beta1", "EventListener"): EventListener,
}
_FOLDERS = {
    "Task": "tasks",
    "Pipeline": "pipelines",
    "TriggerBinding": "bindings",
    "TriggerTemplate": "templates",
    "EventListener": "listeners",
}
_UNION_TAGS = {"str", "int", "bool", "float", "list[str]", "dict[str,any]"}

M = TypeVar("M", bound=K8sModel)


@dataclass
class Catalog:
    """The Tekton objects of one folder, by kind and name, with the file each came from."""

    root: Path
    tasks: dict[str, Task] = field(default_factory=dict)
    pipelines: dict[str, Pipeline] = field(default_factory=dict)
    bindings: dict[str, TriggerBinding] = field(default_factory=dict)
    templates: dict[str, TriggerTemplate] = field(default_factory=dict)
    listeners: dict[str, EventListener] = field(default_factory=dict)
    origins: dict[tuple[str, str], str] = field(default_factory=dict)

    def where(self, kind: str, name: str) -> str:
        """``file: Kind name`` for messages."""
        return f"{self.origins.get((kind, name), self.root)}: {kind} {name}"

    def task(self, name: str, used_by: str) -> Task:
        """The Task ``name``, or a clear error naming who refers to it."""
        if name not in self.tasks:
            raise TektonInputError(f"{used_by}: refers to Task {name}, which is not in {self.root}")
        return self.tasks[name]

    def pipeline(self, name: str, used_by: str) -> Pipeline:
        """The Pipeline ``name``, or a clear error naming who refers to it."""
        if name not in self.pipelines:
            raise TektonInputError(f"{used_by}: refers to Pipeline {name}, which is not in {self.root}")
        return self.pipelines[name]


def load_catalog(root: Path) -> Catalog:
    """Read ``root`` (a ``tekton/`` folder) into a Catalog; a feature outside the models is an error naming it."""
    if not root.is_dir():
        raise TektonInputError(f"{root}: no such folder", hint="render it with `shipyard ci render`")
    catalog = Catalog(root=root)
    for path in _files(root):
        label = _label(root, path)
        for index, doc in enumerate(_documents(path, label)):
            _add(catalog, doc, label if index == 0 else f"{label} (document {index + 1})")
    return catalog


def _label(root: Path, path: Path) -> str:
    try:
        return str(Path(root.name) / path.relative_to(root))
    except ValueError:
        return str(path)


def _files(root: Path) -> list[Path]:
    kustomization = next((root / n for n in ("kustomization.yaml", "kustomization.yml") if (root / n).is_file()), None)
    if kustomization is None:
        return sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    label = _label(root, kustomization)
    docs = _documents(kustomization, label)
    if len(docs) != 1 or not isinstance(docs[0], dict):
        raise TektonInputError(f"{label}: expected one Kustomization document")
    extra = sorted(set(docs[0]) - _KUSTOMIZATION_FIELDS)
    if extra:
        raise UnsupportedFeature(f"kustomization field {extra[0]}", where=label, hint="ci run reads only `resources`")
    files = []
    for entry in docs[0].get("resources") or []:
        target = (root / str(entry)).resolve()
        if not isinstance(entry, str) or "://" in entry or not target.is_file():
            raise UnsupportedFeature(f"kustomization resource {entry!r} (not a file of this folder)", where=label)
        if not target.is_relative_to(root.resolve()):
            raise TektonInputError(f"{label}: resource {entry} is outside {root}")
        files.append(target)
    return files


def _documents(path: Path, label: str) -> list[Any]:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise TektonInputError(f"{label}: {size} bytes; a tekton/ file holds at most {MAX_FILE_BYTES}")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TektonInputError(f"{label}: cannot read it ({exc})") from exc
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        # Aliases would let a small file expand into a huge object tree; rendered files never use them. The
        # events are read only when the text could hold an anchor (`&name` where a node starts).
        if _MAYBE_ANCHOR.search(text) and any(
            isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=loader)
        ):
            raise TektonInputError(f"{label}: YAML aliases (*name) are not accepted")
        return [doc for doc in yaml.load_all(text, Loader=loader) if doc is not None]
    except yaml.YAMLError as exc:
        raise TektonInputError(f"{label}: not valid YAML ({exc})") from exc


def _add(catalog: Catalog, doc: Any, label: str) -> None:
    if not isinstance(doc, dict) or not isinstance(doc.get("kind"), str) or not isinstance(doc.get("apiVersion"), str):
        raise TektonInputError(f"{label}: every document needs apiVersion and kind")
    api, kind = doc["apiVersion"], doc["kind"]
    model = _MODELS.get((api, kind))
    if model is None:
        if api.startswith(_TEKTON_GROUPS):
            raise UnsupportedFeature(f"{api} {kind}", where=label)
        return  # RBAC and the like: nothing to execute on this machine
    obj = _validate(model, doc, label, kind)
    name = obj.metadata.name  # type: ignore[attr-defined]
    if (kind, name) in catalog.origins:
        raise TektonInputError(f"{label}: {kind} {name} is also defined in {catalog.origins[(kind, name)]}")
    catalog.origins[(kind, name)] = label
    getattr(catalog, _FOLDERS[kind])[name] = obj


def _validate(model: type[M], doc: dict[str, Any], label: str, kind: str) -> M:
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        raise model_error(exc, f"{label}: {kind} {_name(doc)}") from None


def _name(doc: dict[str, Any]) -> str:
    meta = doc.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    return str(name) if name else "(unnamed)"


def model_error(exc: ValidationError, where: str) -> ShipyardError:
    """A pydantic error as one line: an unknown field or value is an unsupported feature, the rest bad input."""
    problems = exc.errors()
    for problem in problems:
        if problem["type"] == "extra_forbidden":
            return UnsupportedFeature(f"field {field_path(problem['loc'])}", where=where)
    for problem in problems:
        if problem["type"] == "literal_error":
            expected = problem.get("ctx", {}).get("expected", "")
            return UnsupportedFeature(
                f"{field_path(problem['loc'])}: {problem['input']!r}", where=where, hint=f"supported: {expected}"
            )
    first = problems[0]
    return TektonInputError(f"{where}: {field_path(first['loc'])}: {first['msg']}")


def field_path(loc: tuple[int | str, ...]) -> str:
    """``('spec', 'tasks', 2, 'retries')`` -> ``spec.tasks[2].retries`` (union member tags left out)."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.replace(" ", "").lower() not in _UNION_TAGS and not part.startswith("function-"):
            text += f".{part}" if text else part
    return text or "(root)"
