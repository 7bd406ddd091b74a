"""``shipyard affected``: the services and packages a range of commits touches, and why."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from shipyard.cli.output import emit_json

if TYPE_CHECKING:
    from shipyard.workspace.affected import Affected

# Tried in order when --base is not given: the remote's default branch, then main.
DEFAULT_BASES = ("origin/HEAD", "origin/main", "main")


def register(app: typer.Typer) -> None:
    """Add the ``affected`` command."""
    app.command("affected")(affected)


def affected(
    base: str | None = typer.Option(
        None, "--base", help="Compare with the merge base of this ref (default: origin/HEAD, origin/main or main)."
    ),
    head: str = typer.Option("HEAD", "--head", help="The ref whose changes count."),
    as_json: bool = typer.Option(False, "--json", help="Print the answer as JSON (same as --format json)."),
    explain: bool = typer.Option(False, "--explain", help="Say for each project which file or dependency path."),
    output_format: str = typer.Option(
        "text", "--format", help="text, json, or matrix (a JSON array of service names for a Tekton matrix)."
    ),
    root: Path = typer.Option(Path(), "--root", help="A folder inside the workspace."),
) -> None:
    """The services and packages changed between the merge base of BASE and HEAD, with their dependents."""
    import json
    import sys

    from shipyard.errors import ShipyardError
    from shipyard.gitflow.git import Git
    from shipyard.spec.loader import find_spec, load_spec
    from shipyard.workspace.affected import Rules, find_affected

    if output_format not in ("text", "json", "matrix"):
        raise ShipyardError(f"--format '{output_format}' is not known; valid: text, json, matrix")
    spec_path = find_spec(root)
    platform = load_spec(spec_path)
    workspace_root = spec_path.parent
    if base is None:
        git = Git(workspace_root)
        base = next((ref for ref in DEFAULT_BASES if git.has_ref(ref)), None)
        if base is None:
            raise ShipyardError(
                "no --base given and none of origin/HEAD, origin/main, main exists here",
                hint="pass --base (the branch the change merges into), e.g. --base origin/develop",
            )
    rules = Rules(tuple(platform.workspace.global_files), tuple(platform.workspace.ignore))
    result, span = find_affected(workspace_root, rules, base, head)

    if output_format == "matrix":
        sys.stdout.write(json.dumps(list(result.services)) + "\n")
        return
    if as_json or output_format == "json":
        emit_json(result.to_json(platform.registry.image))
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
