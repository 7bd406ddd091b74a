"""``shipyard hotfix``: start and finish hotfix branches from main or an older stable line."""

from __future__ import annotations

from pathlib import Path

import typer

from shipyard.cli.output import Format, chosen, emit_plan, json_option, output_option


def register(app: typer.Typer) -> None:
    """Add the ``hotfix`` command group."""
    group = typer.Typer(help="Hotfix branches: patch releases of a stable line.", no_args_is_help=True)
    group.command("start")(start)
    group.command("finish")(finish)
    app.add_typer(group, name="hotfix")


def start(
    description: str = typer.Argument(..., help="What the hotfix fixes, e.g. security-cve-2024-1234."),
    source: str | None = typer.Option(None, "--from", help="An older stable to fix (default: main's latest)."),
    remote: str = typer.Option("origin", "--remote", help="The shared repository."),
    root: Path = typer.Option(Path(), "--root", help="A folder inside the repository."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan; change nothing."),
    output: Format = output_option(),
    as_json: bool = json_option("Print the plan as JSON (the same as -o json)."),
) -> None:
    """Create hotfix/DESC from main (or --from vX.Y.Z); refuses while another hotfix on that line is open."""
    from shipyard.cli.context import versioning_policy
    from shipyard.versioning.release import Workflow

    fmt = chosen(output, as_json)
    change = Workflow(root, remote, versioning_policy(root)[0]).hotfix_start(description, source, dry_run)
    emit_plan(change.plan, fmt)


def finish(
    branch: str | None = typer.Option(None, "--branch", help="The hotfix branch (default: the checked-out one)."),
    remote: str = typer.Option("origin", "--remote", help="The shared repository."),
    root: Path = typer.Option(Path(), "--root", help="A folder inside the repository."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan; change nothing."),
    output: Format = output_option(),
    as_json: bool = json_option("Print the plan as JSON (the same as -o json)."),
) -> None:
    """Release the hotfix as the next patch: merged into main and back into develop, or, on an older line,
    tagged where it is."""
    from shipyard.cli.context import versioning_policy
    from shipyard.versioning.release import Workflow

    fmt = chosen(output, as_json)
    change = Workflow(root, remote, versioning_policy(root)[0]).hotfix_finish(branch, dry_run)
    emit_plan(change.plan, fmt)
