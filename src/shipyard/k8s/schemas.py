"""The engines' own schemas, loaded from a folder the user gives: CRDs (their openAPIV3Schema, made
strict so unknown fields are errors, as the API server would silently drop them) and Kargo's JSON
Schemas for Warehouse subscriptions and promotion step configs."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator, Draft202012Validator
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from shipyard.errors import ShipyardError

K8S_VERSION = "1.32.0"

# Kubernetes object metadata is not described by CRD schemas; these are the fields an object may set.
_METADATA_FIELDS = {"name", "namespace", "labels", "annotations", "finalizers", "generateName"}


def strict(schema: Any) -> Any:
    """A copy of an OpenAPI v3 schema as JSON Schema where objects with known properties reject others."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: strict(value) for key, value in schema.items()}
    if result.pop("nullable", False) and isinstance(result.get("type"), str):
        result["type"] = [result["type"], "null"]
    if (
        "properties" in result
        and "additionalProperties" not in result
        and not result.get("x-kubernetes-preserve-unknown-fields")
    ):
        result["additionalProperties"] = False
    return result


@dataclass
class SchemaSet:
    """Validators by (apiVersion, kind), Kargo step configs by step name, subscriptions by kind."""

    kinds: dict[tuple[str, str], Validator] = field(default_factory=dict)
    steps: dict[str, Validator] = field(default_factory=dict)
    subscriptions: dict[str, Validator] = field(default_factory=dict)

    def validator(self, api_version: str, kind: str) -> Validator | None:
        """The validator of a custom kind, or None when no schema for it was given."""
        return self.kinds.get((api_version, kind))


def _crd_documents(path: Path) -> Iterator[dict[str, Any]]:
    try:
        for document in yaml.load_all(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader):
            if isinstance(document, dict) and document.get("kind") == "CustomResourceDefinition":
                yield document
    except (yaml.YAMLError, UnicodeDecodeError):
        return


def load_schemas(folder: Path) -> SchemaSet:
    """Every CRD and Kargo JSON Schema under ``folder`` (searched recursively)."""
    if not folder.is_dir():
        raise ShipyardError(f"{folder} is not a folder of CRDs and JSON Schemas")
    found = SchemaSet()
    json_files: dict[Path, dict[str, Any]] = {}
    for path in sorted(folder.rglob("*")):
        if path.suffix in (".yaml", ".yml"):
            for crd in _crd_documents(path):
                spec = crd.get("spec", {})
                group, kind = spec.get("group"), spec.get("names", {}).get("kind")
                for version in spec.get("versions", []):
                    schema = version.get("schema", {}).get("openAPIV3Schema")
                    if schema and group and kind:
                        checked = strict(copy.deepcopy(schema))
                        # Metadata is checked on its own (metadata_errors): CRDs leave it undescribed.
                        checked.setdefault("properties", {})["metadata"] = {"type": "object"}
                        found.kinds[(f"{group}/{version['name']}", kind)] = Draft7Validator(checked)
        elif path.suffix == ".json" and path.parent.name in ("steps", "subscriptions"):
            try:
                json_files[path] = json.loads(path.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise ShipyardError(f"{path}: not valid JSON: {exc}") from exc
    for directory in sorted({p.parent for p in json_files}):
        registry: Registry[Any] = Registry()
        for path, schema in json_files.items():
            if path.parent == directory:
                registry = registry.with_resource(path.name, Resource.from_contents(schema, DRAFT202012))
        for path, schema in json_files.items():
            if path.parent != directory:
                continue
            validator = Draft202012Validator(schema, registry=registry)
            if directory.name == "steps" and path.name.endswith("-config.json"):
                found.steps[path.name.removesuffix("-config.json")] = validator
            elif directory.name == "subscriptions":
                found.subscriptions[path.stem] = validator
    return found


def metadata_errors(metadata: Any) -> list[tuple[list[str | int], str]]:
    """Problems of an object's metadata: a name, and only fields Kubernetes knows."""
    if not isinstance(metadata, dict):
        return [([], "metadata must be a mapping")]
    problems: list[tuple[list[str | int], str]] = []
    if not metadata.get("name") and not metadata.get("generateName"):
        problems.append((["name"], "metadata.name is required"))
    for key in sorted(set(metadata) - _METADATA_FIELDS):
        problems.append(([key], f"unknown metadata field '{key}'"))
    return problems


def errors_of(validator: Validator, data: Any) -> list[ValidationError]:
    """Every schema violation of ``data``, in a stable order."""
    return sorted(validator.iter_errors(data), key=lambda e: (list(map(str, e.absolute_path)), e.message))


class BuiltinSchemas:
    """Strict validators of the built-in kinds, from kubernetes-validate's schemas, built once per kind."""

    def __init__(self, version: str = K8S_VERSION) -> None:
        from importlib import resources

        self.folder = resources.files("kubernetes_validate") / "kubernetes-json-schema" / f"v{version}-local-strict"
        self._registry: Registry[Any] | None = None
        self._validators: dict[tuple[str, str], Validator | None] = {}

    def validator(self, api_version: str, kind: str) -> Validator | None:
        """The validator of a built-in kind, or None when Kubernetes has no such kind."""
        key = (api_version, kind)
        if key not in self._validators:
            # kubernetes-validate names files <kind>-<group without domain>-<version>.json
            group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
            source = self.folder / f"{kind.lower()}-{group_version}.json"
            if not source.is_file():
                self._validators[key] = None
            else:
                if self._registry is None:
                    # The kind schemas refer to one shared definitions document by its $id.
                    definitions = json.loads((self.folder / "_definitions.json").read_text(encoding="utf-8"))
                    self._registry = Resource.from_contents(definitions, DRAFT202012) @ Registry()
                schema = json.loads(source.read_text(encoding="utf-8"))
                self._validators[key] = Draft202012Validator(schema, registry=self._registry)
        return self._validators[key]
