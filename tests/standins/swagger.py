"""Checking requests against a Swagger 2.0 API description: the operation exists, every query, path
and header parameter is declared and well typed, required ones are present, and the JSON body
matches its schema (unknown properties are reported: Harbor would silently ignore a misspelt field)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    pattern: re.Pattern[str]
    spec: dict[str, Any]
    parameters: list[dict[str, Any]]

    @property
    def operation_id(self) -> str:
        return str(self.spec.get("operationId"))


class SwaggerChecker:
    """Loads a Swagger 2.0 document and checks requests against it."""

    def __init__(self, path: Path) -> None:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        self.doc: dict[str, Any] = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
        assert self.doc.get("swagger") == "2.0", "expected a Swagger 2.0 document"
        self.base = str(self.doc.get("basePath", ""))
        self.operations: list[Operation] = []
        for template, item in self.doc["paths"].items():
            shared = item.get("parameters", [])
            regex = (
                "^"
                + re.sub(r"\{([^}]+)\}", r"(?P<\1>[^/]+)", re.escape(template).replace(r"\{", "{").replace(r"\}", "}"))
                + "$"
            )
            for method, spec in item.items():
                if method == "parameters":
                    continue
                params = [self._resolve(p) for p in [*shared, *spec.get("parameters", [])]]
                self.operations.append(Operation(method.upper(), template, re.compile(regex), spec, params))

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            parts = node["$ref"].lstrip("#/").split("/")
            target: Any = self.doc
            for part in parts:
                target = target[part]
            node = target
        return node

    def match(self, method: str, path: str) -> tuple[Operation | None, dict[str, str]]:
        if not path.startswith(self.base):
            return None, {}
        rest = path[len(self.base) :]
        # Literal paths win over templated ones (/projects/x/metadatas/ vs /projects/{id}).
        candidates = sorted(self.operations, key=lambda op: op.template.count("{"))
        for op in candidates:
            found = op.pattern.match(rest)
            if found and op.method == method:
                return op, found.groupdict()
        return None, {}

    def check(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes | None
    ) -> tuple[Operation | None, dict[str, str], list[str]]:
        """The operation, its path parameters, and every problem with the request."""
        op, path_params = self.match(method, path)
        if op is None:
            return None, {}, [f"{method} {path}: no such operation in the API description"]
        problems: list[str] = []
        where = f"{op.operation_id} ({method} {op.template})"
        declared = {(p["in"], p["name"].lower() if p["in"] == "header" else p["name"]): p for p in op.parameters}
        for name, values in query.items():
            param = declared.get(("query", name))
            if param is None:
                problems.append(f"{where}: query parameter '{name}' is not declared")
                continue
            for value in values:
                problems += self._scalar(where, f"query '{name}'", value, param)
        for name, value in path_params.items():
            problems += self._scalar(where, f"path '{name}'", value, declared[("path", name)])
        lowered = {k.lower(): v for k, v in headers.items()}
        for (place, name), param in declared.items():
            if place == "header" and name in lowered:
                problems += self._scalar(where, f"header '{name}'", lowered[name], param)
            if param.get("required") and place == "query" and name not in query:
                problems.append(f"{where}: required query parameter '{name}' is missing")
        body_params = [p for p in op.parameters if p["in"] == "body"]
        if body is not None and body.strip():
            if not body_params:
                problems.append(f"{where}: takes no body, but one was sent")
            else:
                try:
                    data = json.loads(body)
                except ValueError:
                    problems.append(f"{where}: the body is not JSON")
                else:
                    problems += self.validate(data, body_params[0]["schema"], f"{where} body")
        elif body_params and body_params[0].get("required"):
            problems.append(f"{where}: the required body is missing")
        return op, path_params, problems

    def _scalar(self, where: str, what: str, value: str, param: dict[str, Any]) -> list[str]:
        kind = param.get("type", "string")
        if kind == "integer":
            if not re.fullmatch(r"-?\d+", value):
                return [f"{where}: {what} must be an integer, got {value!r}"]
            if "maximum" in param and int(value) > param["maximum"]:
                return [f"{where}: {what} is above its maximum {param['maximum']}"]
        if kind == "boolean" and value not in ("true", "false"):
            return [f"{where}: {what} must be true or false, got {value!r}"]
        if "enum" in param and value not in [str(e) for e in param["enum"]]:
            return [f"{where}: {what} must be one of {param['enum']}"]
        return []

    def validate(self, value: Any, schema: dict[str, Any], where: str) -> list[str]:
        """Problems of ``value`` against a Swagger schema (the subset Harbor's description uses)."""
        schema = self._resolve(schema)
        if value is None:
            return [] if schema.get("x-nullable") else [f"{where}: null is not allowed"]
        kind = schema.get("type") or ("object" if "properties" in schema or "additionalProperties" in schema else None)
        if kind == "object" and "properties" not in schema and "additionalProperties" not in schema:
            # A bare `type: object` is generated as interface{} by go-swagger (Harbor's server): any value.
            return []
        checks = {
            "string": lambda v: isinstance(v, str),
            "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
            "boolean": lambda v: isinstance(v, bool),
            "array": lambda v: isinstance(v, list),
            "object": lambda v: isinstance(v, dict),
        }
        if kind in checks and not checks[kind](value):
            return [f"{where}: expected {kind}, got {type(value).__name__} {value!r}"]
        problems: list[str] = []
        if "enum" in schema and value not in schema["enum"]:
            problems.append(f"{where}: {value!r} is not one of {schema['enum']}")
        if kind == "string" and "maxLength" in schema and len(value) > schema["maxLength"]:
            problems.append(f"{where}: longer than {schema['maxLength']}")
        if kind == "array":
            for index, item in enumerate(value):
                problems += self.validate(item, schema.get("items", {}), f"{where}[{index}]")
        if kind == "object":
            properties = schema.get("properties", {})
            extra = schema.get("additionalProperties")
            for key in schema.get("required", []):
                if key not in value:
                    problems.append(f"{where}: required property '{key}' is missing")
            for key, item in value.items():
                if key in properties:
                    problems += self.validate(item, properties[key], f"{where}.{key}")
                elif isinstance(extra, dict):
                    problems += self.validate(item, extra, f"{where}.{key}")
                elif properties and extra is not True:
                    problems.append(f"{where}: unknown property '{key}'")
        return problems
