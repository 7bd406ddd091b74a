"""``shipyard branch check``: is a branch name part of the workflow, and may it merge into a target?"""

from __future__ import annotations

from pathlib import Path

import typer

from shipyard.cli.output import emit_json, exit_with, say
from shipyard.spec.locate import find_root
from shipyard.versioning.branch import BranchError, check_pr_target, classify
from shipyard.workspace.discovery import discover


def register(app: typer.Typer) -> None:
    """Add the ``branch`` command group."""
    group = typer.Typer(
        help="Branch rules of the workflow (main, develop, release, feature, hotfix).", no_args_is_help=True
    )
    group.command("check")(check)
    app.add_typer(group, name="branch")


def check(
    name: str = typer.Argument(..., help="The branch name to check (untrusted input is fine)."),
    target: str | None = typer.Option(None, "--target", help="The pull request's target branch, if any."),
    root: Path = typer.Option(
        Path(),
        "--root",
        help="A folder inside the workspace; feature branches must name one of its services or packages.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Exit 0 when NAME follows the branch rules (and may merge into --target), 1 with the reason when not."""
    workspace_root = find_root(root)
    projects = list(discover(workspace_root).projects) if workspace_root else None
    result: dict[str, object] = {"name": name, "valid": False}
    try:
        branch = classify(name, projects)
    except BranchError as exc:
        result["reason"] = str(exc)
    else:
        result.update(kind=branch.kind.value, valid=True)
        if branch.version:
            result["version"] = "{}.{}.{}".format(*branch.version)
        if branch.project:
            result["project"] = branch.project
        if target is not None:
            result["target"] = target
            problem = check_pr_target(branch, target)
            if problem:
                result.update(valid=False, reason=problem)
    if projects is None and result.get("kind") == "feature":
        result["note"] = "no shipyard.yaml found: the feature branch's project was not checked"
    if as_json:
        emit_json(result)
    elif result["valid"]:
        print(f"{name}: {result['kind']} branch" + (f" -> {target}" if target else ""))
    else:
        say(f"{result['reason']}")
    if "note" in result and not as_json:
        say(f"note: {result['note']}")
    exit_with(0 if result["valid"] else 1)
