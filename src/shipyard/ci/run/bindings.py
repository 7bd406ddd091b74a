"""TriggerBinding values from a webhook, and the TriggerTemplate's resources from them, as Tekton Triggers
computes them (``pkg/template``): ``$(body.x)``, ``$(header.X)``, ``$(extensions.x)``, ``$(context.eventID)``,
then a textual ``$(tt.params.x)`` replacement in the template's JSON."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from shipyard.ci.run.errors import TektonInputError, UnsupportedFeature

_PATH_PART = re.compile(r"\.((?:[A-Za-z0-9_\-/]|\\.)+)|\['([^']*)'\]|\[(-?[0-9]+)\]")


class BindingError(Exception):
    """A JSONPath that finds nothing in the event (Triggers then uses the template's default, if any)."""


def expressions(value: str) -> list[str]:
    """The ``$(...)`` expressions of a binding value, each with its wrapper, in order.

    Each runs from ``$(`` to the first unbalanced ``)``, as Triggers' ``findTektonExpressions`` reads them.
    """
    found = []
    for part in value.split("$(")[1:]:
        depth = 0
        for index, char in enumerate(part):
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth < 0:
                found.append(f"$({part[:index]})")
                break
    return found


def canonical_header(name: str) -> str:
    """Go's ``textproto.CanonicalMIMEHeaderKey``: ``x-github-event`` -> ``X-Github-Event``."""
    if not name or any(not (c.isalnum() or c == "-") for c in name):
        return name
    return "-".join(p[:1].upper() + p[1:].lower() for p in name.split("-"))


def evaluate(expression: str, event: dict[str, Any]) -> str:
    """One ``$(...)`` expression against ``{body, header, extensions, context}``, printed as Triggers prints it."""
    inner = expression[2:-1]
    if inner.startswith("header."):  # header names are matched in Go's canonical form
        inner = "header." + canonical_header(inner[len("header.") :])
    relaxed = _RELAXED.fullmatch(inner)
    if not relaxed:
        raise UnsupportedFeature(f"JSONPath {expression} in a TriggerBinding")
    path = "." + (relaxed.group(1) or relaxed.group(2))
    return _print(_walk(event, path, expression))


_RELAXED = re.compile(r"\{\.?([^{}]+)\}|\.?([^{}]+)")


def _walk(value: Any, path: str, expression: str) -> Any:
    position = 0
    while position < len(path):
        match = _PATH_PART.match(path, position)
        if not match:
            raise UnsupportedFeature(
                f"JSONPath {expression} in a TriggerBinding",
                hint="ci run reads dotted fields, ['key'] and [index]; no wildcards, filters or slices",
            )
        key = match.group(1) if match.group(1) is not None else match.group(2)
        if key is not None:
            key = re.sub(r"\\(.)", r"\1", key)
            if not isinstance(value, dict) or key not in value:
                raise BindingError(f"{expression}: {key} is not found")
            value = value[key]
        else:
            index = int(match.group(3))
            if not isinstance(value, list) or not -len(value) <= index < len(value):
                raise BindingError(f"{expression}: index {index} is out of range")
            value = value[index]
        position = match.end()
    return value


def _print(value: Any) -> str:
    # A string is JSON-escaped without its quotes, so it can sit inside the template's JSON strings; anything
    # else is its JSON text as Go prints it (getResults in Triggers' jsonpath.go).
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)[1:-1]
    return go_json(value)


def go_json(value: Any) -> str:
    """JSON as Go's encoding/json writes decoded JSON: compact, object keys sorted, numbers as float64."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int | float):
        return _go_float(float(value))
    if isinstance(value, list):
        return "[" + ",".join(go_json(v) for v in value) + "]"
    return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{go_json(value[k])}" for k in sorted(value)) + "}"


def _go_float(number: float) -> str:
    # encoding/json: shortest 'f' digits between 1e-6 and 1e21, else 'e' with a one-digit exponent kept short.
    if number == 0:
        return "0"
    if 1e-6 <= abs(number) < 1e21:
        text = format(Decimal(repr(number)), "f")
        return text.removesuffix(".0") if "." in text else text
    return re.sub(r"e([+-])0([0-9])\Z", r"e\1\2", repr(number))


def resolve_params(
    bindings: list[tuple[str, str]], event: dict[str, Any], defaults: dict[str, str], where: str
) -> dict[str, str]:
    """The template's params: its defaults, then every binding param with its expressions replaced."""
    values = dict(defaults)
    for name, raw in bindings:
        value = raw
        for expression in expressions(raw):
            try:
                found = evaluate(expression, event)
            except BindingError as exc:
                if name not in defaults:
                    raise TektonInputError(
                        f"{where}: param {name}: {exc}; on a cluster this trigger would create nothing"
                    ) from None
                found = defaults[name]
            value = value.replace(expression, found)
        values[name] = value
    return values


def apply_template(template_json: str, params: dict[str, str], uid: str) -> str:
    """Replace ``$(tt.params.x)`` textually in the resource template's JSON, then ``$(uid)``.

    Values have ``$(`` escaped as ``$$(``, so text from a webhook never becomes a Tekton variable.
    """
    for name, value in params.items():
        template_json = template_json.replace(f"$(tt.params.{name})", value.replace("$(", "$$("))
    return template_json.replace("$(uid)", uid)
