"""``shipyard affected``: the services and packages a range of commits touches, and why.

Parsed with argparse, not typer: CI runs this on every event, and importing the CLI framework was a
fifth of a warm run. ``main`` calls ``run`` directly (see ``shipyard.cli.plain``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from shipyard.cli.output import emit_json
from shipyard.errors import ShipyardError

if TYPE_CHECKING:
    from shipyard.workspace.affected import Affected
    from shipyard.workspace.affected_query import Answer

SUMMARY = "The services and packages changed between the merge base of BASE and HEAD, with their dependents."
FORMATS = ("text", "json", "matrix")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # Reported like every other command's mistakes: "error: ..." and exit 2, by main.
        import difflib

        known = [option for action in self._actions for option in action.option_strings]
        unknown = message.removeprefix("unrecognized arguments: ").split() if "unrecognized" in message else []
        close = [m for word in unknown for m in difflib.get_close_matches(word.split("=")[0], known, 1)]
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise ShipyardError(message, hint=f"{hint}see {self.prog} --help")


def parser() -> argparse.ArgumentParser:
    """The command's options and help."""
    commands = _Parser(
        prog="shipyard affected",
        allow_abbrev=False,
        description=SUMMARY,
        epilog=(
            "examples:\n"
            "  shipyard affected --base origin/develop --explain\n"
            "  shipyard affected --base origin/develop --format matrix   # for a Tekton matrix\n"
            "Exit 2 when a ref is missing or the clone's history is cut off; the message names the fetch."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands.add_argument(
        "--base",
        metavar="REF",
        help="compare with the merge base of this ref (default: origin/HEAD, origin/main or main)",
    )
    commands.add_argument("--head", metavar="REF", default="HEAD", help="the ref whose changes count (default: HEAD)")
    commands.add_argument("--json", action="store_true", help="print the answer as JSON (same as --format json)")
    commands.add_argument(
        "--explain", action="store_true", help="say for each project which file or dependency path made it affected"
    )
    commands.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text, json, or matrix (a JSON array of service names for a Tekton matrix); default: text",
    )
    commands.add_argument(
        "--root", metavar="DIR", type=Path, default=Path(), help="a folder inside the workspace (default: here)"
    )
    return commands


def run(args: list[str]) -> None:
    """Parse ``args``, compute the affected projects, print them."""
    from shipyard.workspace.affected_query import ask

    options = parser().parse_args(args)
    output_format = "json" if options.json and options.format == "text" else options.format
    show(ask(options.root, options.base, options.head), options.head, output_format, options.explain)


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
