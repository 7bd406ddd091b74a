"""``shipyard version``: the version of a commit, its maturity, the aliases to move and why."""

from __future__ import annotations

from pathlib import Path

import typer

from shipyard.cli.output import Format, chosen, emit, is_machine, json_option, output_option


def register(app: typer.Typer) -> None:
    """Add the ``version`` command."""
    app.command("version")(version)


def version(
    ref: str = typer.Option("HEAD", "--ref", help="The commit to version (a branch, tag or commit id)."),
    branch: str | None = typer.Option(
        None, "--branch", help="The branch the commit is on (CI checkouts have a detached HEAD)."
    ),
    pr: int | None = typer.Option(None, "--pr", help="A pull request number: print its build tag pr-<n>-<sha7>."),
    remote: str | None = typer.Option(None, "--remote", help="Where a shallow clone deepens from (default: origin)."),
    fetch: bool = typer.Option(True, "--fetch/--no-fetch", help="May a shallow clone be deepened?"),
    root: Path = typer.Option(Path(), "--root", help="A folder inside the repository."),
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """Print the version of a commit from git alone: alpha on develop, beta on release and hotfix branches,
    stable on main, a build tag for pull requests."""
    from shipyard.cli.context import versioning_policy
    from shipyard.versioning.compute import compute_version

    fmt = chosen(output, as_json)
    prefix, bump = versioning_policy(root)
    info = compute_version(root, ref, branch, pr, prefix, bump=bump, remote=remote, fetch=fetch)
    if is_machine(fmt):
        emit(info.to_json(), fmt)
        return
    print(info.version)
    print(f"  maturity: {info.maturity}   base: {info.base}   npm: {info.npm.version} ({info.npm.dist_tag})")
    print(f"  tags: {', '.join(info.tags)}")
    print(f"  why: {info.reason}")
