"""An OpenAPI 3.0 description used as a contract: find the operation of a request, validate its parameters
and body, and validate (and fake) responses. Reusable by any stand-in (GitHub here; Harbor for the registries
issue, whose swagger would need a 2.0 adapter)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema


def _to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema: ``nullable`` becomes a null type; the rest carries over."""
    if isinstance(node, list):
        return [_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_json_schema(v) for k, v in node.items() if k not in ("example", "examples", "x-github")}
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


class OpenAPI:
    """A loaded description; its schemas resolve ``$ref`` against the whole document."""

    def __init__(self, path: Path) -> None:
        doc = json.loads(path.read_text())
        self.components = _to_json_schema(doc.get("components", {}))
        self.raw_parameters = doc.get("components", {}).get("parameters", {})
        self.routes: list[tuple[re.Pattern[str], str, dict[str, Any]]] = []
        for template, item in doc["paths"].items():
            parts = []
            for index, segment in enumerate(template.split("/")):
                parts.append(f"(?P<g{index}>[^/]+)" if segment.startswith("{") else re.escape(segment))
            self.routes.append((re.compile("^" + "/".join(parts) + "$"), template, item))
        # Literal segments first, so /pulls/comments is not taken for /pulls/{pull_number}.
        self.routes.sort(key=lambda r: r[1].count("{"))

    def find(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation for a request path, with its path parameters; None when the path is not in the API."""
        for pattern, template, item in self.routes:
            match = pattern.match(path)
            if match and method.lower() in item:
                names = template.split("/")
                values = {names[int(k[1:])].strip("{}"): v for k, v in match.groupdict().items()}
                return Operation(method.upper(), template, item[method.lower()]), values
        return None

    def _validator(self, schema: Any) -> jsonschema.Draft7Validator:
        return jsonschema.Draft7Validator({**_to_json_schema(schema), "components": self.components})

    def _parameters(self, op: Operation) -> list[dict[str, Any]]:
        params = []
        for param in op.spec.get("parameters", []):
            if "$ref" in param:
                param = self.raw_parameters[param["$ref"].rsplit("/", 1)[-1]]
            params.append(param)
        return params

    def check_request(self, op: Operation, path_values: dict[str, str], query: dict[str, str], body: Any) -> list[str]:
        """Every way the request breaks the description."""
        problems: list[str] = []
        declared = {(p["in"], p["name"]): p for p in self._parameters(op)}
        for name in query:
            if ("query", name) not in declared:
                problems.append(f"query parameter '{name}' is not defined for {op.method} {op.template}")
        for (where, name), param in declared.items():
            value = path_values.get(name) if where == "path" else query.get(name) if where == "query" else None
            if value is None:
                if param.get("required") and where in ("path", "query"):
                    problems.append(f"required {where} parameter '{name}' is missing")
                continue
            if param.get("schema", {}).get("type") == "integer" and not re.fullmatch(r"-?\d+", value):
                problems.append(f"{where} parameter '{name}' must be an integer, got '{value}'")
        request_body = op.spec.get("requestBody")
        if request_body is None:
            if body is not None:
                problems.append(f"{op.method} {op.template} takes no request body")
            return problems
        if body is None:
            if request_body.get("required"):
                problems.append(f"{op.method} {op.template} needs a JSON body")
            return problems
        schema = request_body["content"]["application/json"]["schema"]
        problems += [f"body: {e.message}" for e in self._validator(schema).iter_errors(body)]
        return problems

    def response_schema(self, op: Operation, status: int) -> Any:
        """The JSON schema of a response, or None when the description gives none."""
        response = op.spec.get("responses", {}).get(str(status))
        if response is None:
            return None
        content = response.get("content", {}).get("application/json")
        return content.get("schema") if content else None

    def check_response(self, op: Operation, status: int, body: Any) -> list[str]:
        """Every way an answer breaks the description (a stand-in must answer per the contract too)."""
        if str(status) not in op.spec.get("responses", {}):
            return [f"status {status} is not a documented response of {op.method} {op.template}"]
        schema = self.response_schema(op, status)
        if schema is None:
            return [] if body is None else [f"status {status} of {op.method} {op.template} has no body"]
        return [f"response: {e.message}" for e in self._validator(schema).iter_errors(body)]

    def fake(self, schema: Any, depth: int = 0) -> Any:
        """A minimal value valid for ``schema`` (required fields only), for the stand-in to fill in."""
        schema = _to_json_schema(schema)
        while "$ref" in schema:
            schema = self.components["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        if "allOf" in schema:
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                value = self.fake(part, depth + 1)
                if isinstance(value, dict):
                    merged.update(value)
            return merged
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [s for s in schema[key] if s.get("type") != "null"]
                return self.fake(options[0], depth + 1) if options else None
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), None)
        if "enum" in schema:
            return next(v for v in schema["enum"] if v is not None)
        if kind == "object" or "properties" in schema:
            props = schema.get("properties", {})
            return {name: self.fake(props.get(name, {}), depth + 1) for name in schema.get("required", [])}
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
            return {"date-time": "2026-01-01T00:00:00Z", "uri": "https://github.example.invalid/x"}.get(fmt, "x")
        return None
