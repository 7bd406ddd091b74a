"""A fast, exact reader for the one YAML shape Shipyard writes as ``namespace.yaml``.

Reading 5,000 preview directories with a general YAML loader costs most of the clean-up's time. The
files are Shipyard's own, written by one deterministic dumper, so this reader accepts exactly that shape
(``metadata`` with ``name``, ``labels`` and ``annotations`` of one-line scalars) and only scalars whose
meaning YAML cannot read differently: single-quoted text without quotes inside, and plain words that
no YAML 1.1 resolver turns into a boolean, number, null or date. Anything else (a comment, a flow
mapping, ``yes``, a duplicate key, a hand edit) returns None, and the caller uses the full YAML loader.
"""

from __future__ import annotations

import re
from typing import Any

# Words YAML 1.1 reads as booleans or null when plain (PyYAML's resolvers).
_RESERVED = frozenset(
    [
        "y",
        "Y",
        "yes",
        "Yes",
        "YES",
        "n",
        "N",
        "no",
        "No",
        "NO",
        "true",
        "True",
        "TRUE",
        "false",
        "False",
        "FALSE",
        "on",
        "On",
        "ON",
        "off",
        "Off",
        "OFF",
        "null",
        "Null",
        "NULL",
        "~",
    ]
)
_KEY = r"[A-Za-z][A-Za-z0-9._/-]*"
# A plain word starting with a letter, or a duration such as 7d or 1h30m: never a number or a date.
_PLAIN = r"[A-Za-z][A-Za-z0-9._/-]*|(?:[0-9]+[smhdw])+"
_QUOTED = r"'[ -&(-~]*'"  # printable ASCII without a quote: taken literally, as YAML does
_ENTRY = re.compile(rf"(?P<indent> {{2}}| {{4}})(?P<key>{_KEY}):(?: (?P<value>{_QUOTED}|{_PLAIN}))?", re.ASCII)
_HEADER = ("apiVersion: v1", "kind: Namespace", "metadata:")


def _scalar(text: str) -> str | None:
    if text.startswith("'"):
        return text[1:-1]
    return None if text in _RESERVED else text


def read_namespace(text: str) -> dict[str, Any] | None:
    """The Namespace document of a Shipyard-written ``namespace.yaml``, or None when it is not in that exact shape."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    if tuple(lines[:3]) != _HEADER:
        return None
    metadata: dict[str, Any] = {}
    section: dict[str, str] | None = None
    for line in lines[3:]:
        match = _ENTRY.fullmatch(line)
        if not match:
            return None
        key, raw = match["key"], match["value"]
        if match["indent"] == "  ":
            if key in metadata or key in _RESERVED:
                return None
            if raw is None and key in ("labels", "annotations"):
                section = metadata[key] = {}
            elif raw is not None and key == "name":
                value = _scalar(raw)
                if value is None:
                    return None
                metadata[key] = value
                section = None
            else:
                return None
        else:
            if section is None or raw is None or key in section or key in _RESERVED:
                return None
            value = _scalar(raw)
            if value is None:
                return None
            section[key] = value
    # `labels:` with nothing under it is null in YAML, not an empty mapping: leave that to the full loader.
    if "name" not in metadata or any(isinstance(v, dict) and not v for v in metadata.values()):
        return None
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}
