"""``shipyard branch check``: is a branch name part of the workflow, and may it merge into a target?"""

from __future__ import annotations

from pathlib import Path

import typer

from shipyard.cli.context import workspace_root
from shipyard.cli.output import Format, chosen, emit, exit_with, is_machine, json_option, output_option, say
from shipyard.versioning.branch import check_branch
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
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """Exit 0 when NAME follows the branch rules (and may merge into --target), 1 with the reason when not."""
    fmt = chosen(output, as_json)
    found = workspace_root(root)
    result = check_branch(name, target, list(discover(found).projects) if found else None)
    if is_machine(fmt):
        emit(result.to_json(), fmt)
    elif result.valid and result.branch is not None:
        print(f"{name}: {result.branch.kind.value} branch" + (f" -> {target}" if target else ""))
    else:
        say(f"{result.reason}")
    if result.note and not is_machine(fmt):
        say(f"note: {result.note}")
    exit_with(0 if result.valid else 1)
