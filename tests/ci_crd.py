"""Validate objects against a CRD's openAPIV3Schema, as strictly as the API server's structural checks:
unknown fields are errors (the API server would silently prune them, hiding a typo)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import yaml


def _strict(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) for k, v in schema.items()}
    if out.pop("x-kubernetes-int-or-string", False):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    preserve = out.pop("x-kubernetes-preserve-unknown-fields", False)
    if out.get("type") == "object" and "properties" in out and not preserve and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def crd_validator(crd_file: Path, version: str) -> jsonschema.Draft7Validator:
    """A validator for one served version of the CRD in ``crd_file``."""
    for doc in yaml.safe_load_all(crd_file.read_text()):
        if doc and doc.get("kind") == "CustomResourceDefinition":
            for served in doc["spec"]["versions"]:
                if served["name"] == version:
                    schema = _strict(served["schema"]["openAPIV3Schema"])
                    return jsonschema.Draft7Validator(schema)
    raise LookupError(f"{crd_file} has no version {version}")


def errors(validator: jsonschema.Draft7Validator, obj: Any) -> list[str]:
    """Readable schema errors, each with the path of the offending field."""
    return [f"{'.'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}" for e in validator.iter_errors(obj)]
