"""``shipyard render``: write the GitOps config repo (and the app-repo files) from the spec."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from shipyard.cli.output import Format, chosen, emit_plan, exit_with, is_machine, json_option, output_option, say


def register(app: typer.Typer) -> None:
    """Add the ``render`` command."""
    app.command("render")(render)


def render(
    out: Path | None = typer.Option(
        None, "--out", help="A checkout of the config repo (default: .shipyard/gitops-config for a local one)."
    ),
    app_dir: Path | None = typer.Option(None, "--app-dir", help="The application monorepo (default: its root)."),
    root: Path = typer.Option(Path(), "--root", help="A folder inside the workspace."),
    check: bool = typer.Option(False, "--check", help="Exit 1 and list what differs; write nothing."),
    diff: bool = typer.Option(False, "--diff", help="Show the changes as a unified diff; write nothing."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan; write nothing."),
    commit: bool = typer.Option(False, "--commit", help="Commit and push the render to the config repo's main."),
    only: list[str] | None = typer.Option(
        None,
        "--only",
        metavar="TARGET",
        help="Render only this target (repeatable); a wrong name lists the valid ones.",
    ),
    no_cache: bool = typer.Option(
        False, "--no-cache", envvar="SHIPYARD_NO_CACHE", help="Render everything, even when the inputs are unchanged."
    ),
    output: Format = output_option(),
    as_json: bool = json_option("Print the plan as JSON (the same as -o json)."),
) -> None:
    """Render Kustomize bases and overlays, Argo CD, Kargo, bootstrap, CronJobs and tekton/, deterministically."""
    render_targets(
        out=out,
        app_dir=app_dir,
        root=root,
        check=check,
        diff=diff,
        dry_run=dry_run,
        commit=commit,
        fmt=chosen(output, as_json),
        no_cache=no_cache,
        only=only or [],
    )


def render_targets(
    *,
    out: Path | None,
    app_dir: Path | None,
    root: Path,
    check: bool,
    diff: bool,
    dry_run: bool,
    commit: bool,
    fmt: Format,
    no_cache: bool,
    only: list[str],
) -> None:
    """``shipyard render`` with its options as plain values: the one path every render command takes."""
    from shipyard.cli.context import load_context
    from shipyard.cli.progress import progress_bars
    from shipyard.configrepo.checkout import ensure_checkout, publish
    from shipyard.configrepo.location import is_remote
    from shipyard.errors import ShipyardError
    from shipyard.render.engine import config_trees, render, render_into
    from shipyard.render.targets import select

    targets = select(only)
    ctx = load_context(root)
    platform, repo_root = ctx.platform, ctx.root
    workspace = ctx.workspace()
    app_root = app_dir or repo_root
    local_remote: Path | None = None
    if platform.repos.config and not is_remote(platform.repos.config):
        local_remote = (repo_root / platform.repos.config).resolve()
    # Only the app repo's targets (tekton): no config repo is needed, nor cloned.
    if out is None and (commit or not all(t.app for t in targets)):
        if local_remote is None:
            raise ShipyardError(
                "--out is required: the config repo is not on this machine",
                hint="clone the config repo and pass --out PATH-TO-THE-CHECKOUT",
            )
        out = repo_root / ".shipyard" / "gitops-config"
        ensure_checkout(local_remote, out)
    if commit:
        if check or diff or dry_run:
            raise ShipyardError("--commit cannot be combined with --check, --diff or --dry-run")
        if out is None or not (out / ".git").exists():
            raise ShipyardError(f"--commit needs --out to be a git checkout of the config repo; {out} is not")
        pushed = publish(out, lambda tree: render_into(platform, workspace, tree, app_root, targets))
        say(f"pushed {pushed[:12]} to the config repo" if pushed else "config repo already up to date")
        return
    write = not (check or diff or dry_run)
    trees = config_trees(out, app_root, targets)
    with progress_bars(fmt) as progress:
        result = render(
            platform,
            workspace,
            trees,
            write=write,
            use_cache=write and not no_cache,
            cache_root=app_root,
            progress=progress,
        )
    if diff:
        for change in result.changes:
            sys.stdout.write(change.diff())
    elif check and not is_machine(fmt):
        for change in result.changes:
            print(f"{change.op.value:<7} {change.relative}")
    else:
        emit_plan(result.plan(), fmt)
    if check and not result.up_to_date:
        if not is_machine(fmt):
            say(f"render --check: {len(result.changes)} file(s) out of date; run `shipyard render`")
        exit_with(1)
