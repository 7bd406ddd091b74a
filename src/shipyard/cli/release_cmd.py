"""``shipyard release``: tag a commit with its version; start and finish release branches."""

from __future__ import annotations

from pathlib import Path

import typer

from shipyard.cli.output import Format, chosen, emit, emit_plan, is_machine, json_option, output_option, say


def register(app: typer.Typer) -> None:
    """Add the ``release`` command group."""
    group = typer.Typer(help="Version tags and release branches.", no_args_is_help=True)
    group.command("tag")(tag)
    group.command("start")(start)
    group.command("finish")(finish)
    app.add_typer(group, name="release")


def tag(
    push: str | None = typer.Option(None, "--push", metavar="REMOTE", help="Push the tag to REMOTE (atomic)."),
    ref: str = typer.Option("HEAD", "--ref", help="The commit to tag."),
    branch: str | None = typer.Option(None, "--branch", help="The branch of a detached HEAD (CI checkouts)."),
    root: Path = typer.Option(Path(), "--root", help="A folder inside the repository."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the tags that would be created."),
    output: Format = output_option(),
    as_json: bool = json_option("Print the version and the plan as JSON (the same as -o json)."),
) -> None:
    """Create the annotated version tag for HEAD (and any untagged commits before it on a release branch).

    Safe when many CI runs tag at once: a lost race is detected and the version recomputed."""
    from shipyard.cli.context import versioning_policy
    from shipyard.versioning.tagging import Tagged, tag_release

    fmt = chosen(output, as_json)
    prefix, bump = versioning_policy(root)
    info, plan = tag_release(
        root, ref, branch, remote=push, dry_run=dry_run, tag_prefix=prefix, bump=bump, progress=say
    )
    if is_machine(fmt):
        emit(Tagged(info, plan, dry_run).to_json(), fmt)
        return
    emit_plan(plan, fmt)
    print(info.version)


def start(
    version: str = typer.Argument(..., help="The release version X.Y.Z (ahead of every stable and release)."),
    remote: str = typer.Option("origin", "--remote", help="The shared repository."),
    root: Path = typer.Option(Path(), "--root", help="A folder inside the repository."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan; change nothing."),
    output: Format = output_option(),
    as_json: bool = json_option("Print the plan as JSON (the same as -o json)."),
) -> None:
    """Cut release/vX.Y.Z from develop on the remote."""
    from shipyard.cli.context import versioning_policy
    from shipyard.versioning.release import Workflow

    fmt = chosen(output, as_json)
    change = Workflow(root, remote, versioning_policy(root)[0]).release_start(version, dry_run)
    emit_plan(change.plan, fmt)


def finish(
    branch: str | None = typer.Option(
        None, "--branch", help="The release branch (default: the checked-out or only open one)."
    ),
    remote: str = typer.Option("origin", "--remote", help="The shared repository."),
    root: Path = typer.Option(Path(), "--root", help="A folder inside the repository."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan; change nothing."),
    output: Format = output_option(),
    as_json: bool = json_option("Print the plan as JSON (the same as -o json)."),
) -> None:
    """Merge the release into main (--no-ff), tag the stable version, merge main back into develop.

    Refuses unless main is an ancestor of the release (so no hotfix is lost); stops on a conflict."""
    from shipyard.cli.context import versioning_policy
    from shipyard.versioning.release import Workflow

    fmt = chosen(output, as_json)
    change = Workflow(root, remote, versioning_policy(root)[0]).release_finish(branch, dry_run)
    emit_plan(change.plan, fmt)
