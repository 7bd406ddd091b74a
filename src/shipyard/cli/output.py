"""The output convention of every command, in one place: data on stdout, messages on stderr.

A command that prints data takes ``-o/--output table|json|yaml`` (``table``, for people, is the
default) and ``--json``, the short form of ``-o json``. JSON and YAML carry the same data: what the
library's result object returns from ``to_json()``, keys sorted. Nothing here imports typer at module
level: ``affected`` (parsed with argparse) prints through ``emit_json`` without loading it.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # plans pull in pydantic; commands that print none should not pay for it
    from shipyard.plan import Plan


# The help of every --config-repo option: promotions, previews and the sandbox find the repo the same way.
CONFIG_REPO_HELP = "The GitOps config repo (path or URL); default: repos.config of shipyard.yaml."
OUTPUT_HELP = "Output format: table (for people, the default), json or yaml (the same data as json)."
JSON_HELP = "Print JSON for machines (the same as -o json)."


class Format(StrEnum):
    """How a command prints its data."""

    table = "table"
    json = "json"
    yaml = "yaml"


def output_option(help: str = OUTPUT_HELP) -> Any:
    """The ``-o/--output`` option (shell completion offers its values)."""
    import typer

    return typer.Option(Format.table, "-o", "--output", help=help, case_sensitive=False)


def json_option(help: str = JSON_HELP) -> Any:
    """The ``--json`` flag: the short form of ``-o json``."""
    import typer

    return typer.Option(False, "--json", help=help)


def chosen(output: Format, as_json: bool) -> Format:
    """The format asked for by ``-o`` and ``--json`` together; a ShipyardError when they disagree."""
    if as_json and output not in (Format.table, Format.json):
        from shipyard.errors import ShipyardError

        raise ShipyardError(f"--json and -o {output.value} ask for different formats; give one of them")
    return Format.json if as_json else Format(output)


def is_machine(output: str) -> bool:
    """True for the formats machines read (json, yaml): no progress, no colours, data only."""
    return output in (Format.json, Format.yaml)


def emit_json(data: Any) -> None:
    """Print ``data`` as stable, sorted JSON on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")


def emit_yaml(data: Any) -> None:
    """Print ``data`` as YAML with sorted keys on stdout: the same data as ``emit_json``."""
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    sys.stdout.write(
        yaml.dump(data, Dumper=dumper, sort_keys=True, default_flow_style=False, allow_unicode=True, width=1 << 16)
    )


def emit(data: Any, output: str) -> None:
    """Print JSON data (a result's ``to_json()``) as ``output`` asks: json or yaml."""
    if output == Format.yaml:
        emit_yaml(data)
    else:
        emit_json(data)


def say(message: str) -> None:
    """A message for people, on stderr, so stdout stays clean for machines."""
    print(message, file=sys.stderr)


def emit_plan(plan: Plan, output: str) -> None:
    """Print a plan: as text for people, or its ``to_json()`` as json or yaml."""
    if is_machine(output):
        emit(plan.to_json(), output)
    else:
        print(plan.to_text())


def exit_with(code: int) -> None:
    """Stop the command with an exit code (0 yes, 1 no, 2 bad input)."""
    raise SystemExit(code)
