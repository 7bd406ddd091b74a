"""Deterministic YAML: the same data always gives the same bytes (key order as given, block style,
multi-line strings as literal blocks, no timestamps, no aliases)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

try:  # the C emitter is many times faster; rendering 500 services x 7 environments needs it
    from yaml import CSafeDumper as _BaseDumper
except ImportError:  # pragma: no cover - PyYAML without libyaml
    from yaml import SafeDumper as _BaseDumper  # type: ignore[assignment]


class _Dumper(_BaseDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: _Dumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(data: Any) -> str:
    """One YAML document, keys in insertion order."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1000)


def dump_all(documents: Iterable[Any]) -> str:
    """Several YAML documents separated by ``---``."""
    return yaml.dump_all(
        list(documents),
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        explicit_start=False,
        width=1000,
    )


def load_all(text: str, what: str = "the YAML stream") -> list[Any]:
    """Parse every document of a YAML stream (skipping empty ones), within ``shipyard.bounded``'s limits on
    size, nesting and alias expansion; an InputError (a ShipyardError) names ``what`` otherwise."""
    from shipyard.bounded import load_yaml_all

    return load_yaml_all(text, what)
