"""An API description used as a contract: OpenAPI 3.0 (GitHub's) or Swagger 2.0 (Harbor's). Finds the
operation of a request, validates its parameters and body, validates responses and fakes minimal valid ones.
Any stand-in for a remote API builds on it (see ``tests/standins/server.py``)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml


def _to_json_schema(node: Any) -> Any:
    """OpenAPI schema -> JSON Schema: ``nullable`` becomes a null type; examples and vendor keys go."""
    if isinstance(node, list):
        return [_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {
        k: _to_json_schema(v) for k, v in node.items() if k not in ("example", "examples") and not k.startswith("x-")
    }
    if out.pop("nullable", False):
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


@dataclass(frozen=True)
class Operation:
    """One method on one path template of the description."""

    method: str
    template: str
    spec: dict[str, Any]
    shared_parameters: tuple[dict[str, Any], ...] = ()


class OpenAPI:
    """A loaded description (JSON or YAML). Paths are matched without the Swagger 2.0 ``basePath``."""

    def __init__(self, path: Path) -> None:
        text = path.read_text()
        self.doc: dict[str, Any] = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        self.swagger2 = str(self.doc.get("swagger", "")).startswith("2")
        self.base_path = (self.doc.get("basePath") or "").rstrip("/") if self.swagger2 else ""
        # Schemas resolve $ref against these, placed at the root of every validated schema.
        if self.swagger2:
            self.roots = {"definitions": _to_json_schema(self.doc.get("definitions", {}))}
        else:
            self.roots = {"components": _to_json_schema(self.doc.get("components", {}))}
        self.routes: list[tuple[re.Pattern[str], str, dict[str, Any]]] = []
        for template, item in self.doc["paths"].items():
            parts = []
            for index, segment in enumerate(template.split("/")):
                parts.append(f"(?P<g{index}>[^/]+)" if segment.startswith("{") else re.escape(segment))
            self.routes.append((re.compile("^" + "/".join(parts) + "$"), template, item))
        # Literal segments first, so /pulls/comments is not taken for /pulls/{pull_number}.
        self.routes.sort(key=lambda r: r[1].count("{"))

    def resolve(self, node: Any) -> Any:
        """Follow a local ``$ref`` (any depth) in the raw document."""
        while isinstance(node, dict) and "$ref" in node:
            target: Any = self.doc
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def find(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation for a request path, with its path parameters; None when the path is not in the API."""
        if self.base_path:
            if not path.startswith(self.base_path + "/"):
                return None
            path = path[len(self.base_path) :]
        for pattern, template, item in self.routes:
            match = pattern.match(path)
            if match and method.lower() in item:
                names = template.split("/")
                values = {names[int(k[1:])].strip("{}"): v for k, v in match.groupdict().items()}
                shared = tuple(item.get("parameters", []))
                return Operation(method.upper(), template, item[method.lower()], shared), values
        return None

    def _validator(self, schema: Any) -> jsonschema.Draft7Validator:
        converted = _to_json_schema(schema)
        if not isinstance(converted, dict):
            converted = {}
        return jsonschema.Draft7Validator({**converted, **self.roots})

    def _parameters(self, op: Operation) -> list[dict[str, Any]]:
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for param in [*op.shared_parameters, *op.spec.get("parameters", [])]:
            param = self.resolve(param)
            found[(param["in"], param["name"])] = param
        return list(found.values())

    def _body_schema(self, op: Operation) -> tuple[bool, Any]:
        """(required, schema) of the JSON request body, or (False, None) when the operation takes none."""
        if self.swagger2:
            body = next((p for p in self._parameters(op) if p["in"] == "body"), None)
            return (bool(body.get("required")), body.get("schema", {})) if body else (False, None)
        request_body = self.resolve(op.spec.get("requestBody"))
        if not request_body:
            return False, None
        content = request_body.get("content", {}).get("application/json", {})
        return bool(request_body.get("required")), content.get("schema", {})

    def check_request(self, op: Operation, path_values: dict[str, str], query: dict[str, str], body: Any) -> list[str]:
        """Every way the request breaks the description."""
        problems: list[str] = []
        declared = {(p["in"], p["name"]): p for p in self._parameters(op)}
        for name in query:
            if ("query", name) not in declared:
                problems.append(f"query parameter '{name}' is not defined for {op.method} {op.template}")
        for (where, name), param in declared.items():
            if where not in ("path", "query"):
                continue
            value = path_values.get(name) if where == "path" else query.get(name)
            if value is None:
                if param.get("required"):
                    problems.append(f"required {where} parameter '{name}' is missing")
                continue
            kind = param.get("type") or param.get("schema", {}).get("type")
            if kind == "integer" and not re.fullmatch(r"-?\d+", value):
                problems.append(f"{where} parameter '{name}' must be an integer, got '{value}'")
        required, schema = self._body_schema(op)
        if schema is None:
            if body is not None:
                problems.append(f"{op.method} {op.template} takes no request body")
        elif body is None:
            if required:
                problems.append(f"{op.method} {op.template} needs a JSON body")
        else:
            problems += [f"body: {e.message}" for e in self._validator(schema).iter_errors(body)]
        return problems

    def _response(self, op: Operation, status: int) -> dict[str, Any] | None:
        responses = op.spec.get("responses", {})
        found = responses.get(str(status))
        return self.resolve(found) if found is not None else None

    def response_schema(self, op: Operation, status: int) -> Any:
        """The JSON schema of a response, or None when the description gives none."""
        response = self._response(op, status)
        if response is None:
            return None
        if self.swagger2:
            return response.get("schema")
        content = response.get("content", {}).get("application/json")
        return content.get("schema") if content else None

    def check_response(self, op: Operation, status: int, body: Any) -> list[str]:
        """Every way an answer breaks the description (a stand-in must answer per the contract too)."""
        if self._response(op, status) is None:
            return [f"status {status} is not a documented response of {op.method} {op.template}"]
        schema = self.response_schema(op, status)
        if schema is None:
            return [] if body is None else [f"status {status} of {op.method} {op.template} has no body"]
        return [f"response: {e.message}" for e in self._validator(schema).iter_errors(body)]

    def fake(self, schema: Any) -> Any:
        """A minimal value valid for ``schema`` (required fields only), for a stand-in to fill in."""
        schema = _to_json_schema(self.resolve(schema))
        if "allOf" in schema:
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                value = self.fake(part)
                if isinstance(value, dict):
                    merged.update(value)
            return merged
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [s for s in schema[key] if s.get("type") != "null"]
                return self.fake(options[0]) if options else None
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), None)
        if "enum" in schema:
            return next(v for v in schema["enum"] if v is not None)
        if kind == "object" or "properties" in schema:
            props = schema.get("properties", {})
            return {name: self.fake(props.get(name, {})) for name in schema.get("required", [])}
        if kind == "array":
            return []
        if kind == "integer":
            return 1
        if kind == "number":
            return 1.0
        if kind == "boolean":
            return False
        if kind == "string":
            fmt = schema.get("format")
            return {"date-time": "2026-01-01T00:00:00Z", "uri": "https://stand-in.example.invalid/x"}.get(fmt, "x")
        return None
