"""``shipyard affected``: the services and packages a range of commits touches, and why."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from shipyard.cli.output import emit_json

if TYPE_CHECKING:
    from shipyard.workspace.affected import Affected
    from shipyard.workspace.affected_query import Answer


class Format(StrEnum):
    """How the answer is printed."""

    text = "text"
    json = "json"
    matrix = "matrix"


EPILOG = (
    "Examples: shipyard affected --base origin/develop --explain; "
    "shipyard affected --base origin/develop --format matrix (for a Tekton matrix). "
    "Exit 2 when a ref is missing or the clone's history is cut off; the message names the fetch."
)


def register(app: typer.Typer) -> None:
    """Add the ``affected`` command."""
    app.command("affected", epilog=EPILOG)(affected)


def affected(
    base: str | None = typer.Option(
        None,
        "--base",
        metavar="REF",
        help="Compare with the merge base of this ref (default: origin/HEAD, origin/main or main).",
    ),
    head: str = typer.Option("HEAD", "--head", metavar="REF", help="The ref whose changes count."),
    as_json: bool = typer.Option(False, "--json", help="Print the answer as JSON (same as --format json)."),
    explain: bool = typer.Option(
        False, "--explain", help="Say for each project which file or dependency path made it affected."
    ),
    output: Format = typer.Option(
        Format.text, "--format", help="text, json, or matrix (a JSON array of service names for a Tekton matrix)."
    ),
    root: Path = typer.Option(Path(), "--root", metavar="DIR", help="A folder inside the workspace."),
    no_cache: bool = typer.Option(
        False, "--no-cache", envvar="SHIPYARD_NO_CACHE", help="Neither read nor write .git/shipyard/cache."
    ),
) -> None:
    """The services and packages changed between the merge base of BASE and HEAD, with their dependents."""
    from shipyard.workspace.affected_query import ask

    output_format = "json" if as_json and output is Format.text else output.value
    show(ask(root, base, head, use_cache=not no_cache), head, output_format, explain)


def show(answer: Answer, head: str, output_format: str, explain: bool) -> None:
    """Print the answer in ``output_format``."""
    result, span, base = answer.affected, answer.span, answer.base
    if output_format == "matrix":
        sys.stdout.write(json.dumps(list(result.services)) + "\n")
        return
    if output_format == "json":
        emit_json(result.to_json(answer.settings.image))
        return
    # Text is for people: the range and the verdict go to stdout with the list, in reading order.
    print(f"affected between {base} ({span.merge_base[:7]}, the merge base) and {head} ({span.head[:7]}):")
    if result.all:
        print("everything: " + next(iter(result.reasons.values())).text().removeprefix("everything: "))
    for kind, names in (("service", result.services), ("package", result.packages)):
        for name in names:
            print(f"{kind} {name}")
            if explain and not result.all:
                _explain(result, name)
    for kind, names in (("service", result.removed_services), ("package", result.removed_packages)):
        for name in names:
            print(f"removed {kind} {name}")
            if explain:
                print(f"    {result.reasons[name].text()}")
    if not (result.services or result.packages or result.removed_services or result.removed_packages):
        print("nothing is affected")
    if explain:
        for note in result.notes:
            print(f"note: {note}")
        for label, paths in (("ignored (workspace.ignore)", result.ignored), ("outside every project", result.unowned)):
            if paths:
                shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
                print(f"{label}, affecting nothing: {shown}")


def _explain(result: Affected, name: str) -> None:
    reason = result.reasons[name]
    if reason.kind == "changed":
        for path in reason.files[:5]:
            print(f"    changed {path}")
        if len(reason.files) > 5:
            print(f"    ... and {len(reason.files) - 5} more changed files")
    elif reason.kind == "dependency":
        for source, target, via in zip(reason.path, reason.path[1:], reason.via, strict=False):
            print(f"    {source} -> {target}  ({via})")
        print(f"    {reason.path[-1]} {result.reasons[reason.path[-1]].text()}")
    else:
        print(f"    {reason.text()}")
