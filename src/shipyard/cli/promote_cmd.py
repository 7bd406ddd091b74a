"""``shipyard promote`` and ``shipyard rollback``: freight moves through the stage graph, locally."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from shipyard.cli.output import CONFIG_REPO_HELP, emit_json, exit_with, say

if TYPE_CHECKING:
    from shipyard.promotion.executor import Outcome


def register(app: typer.Typer) -> None:
    """Add the ``promote`` and ``rollback`` commands."""
    app.command("promote")(promote)
    app.command("rollback")(rollback)


def promote(
    to: str | None = typer.Option(None, "--to", help="The stage to promote into (dev, staging, uat, ...)."),
    freight: str | None = typer.Option(None, "--freight", help="The freight id (or a unique prefix)."),
    version: str | None = typer.Option(None, "--version", help="The freight's version."),
    auto: bool = typer.Option(False, "--auto", help="Promote new freight into every auto stage whose upstream has it."),
    approve: bool = typer.Option(False, "--approve", help="Approve a manual stage (records who approved)."),
    config_repo: str | None = typer.Option(None, "--config-repo", help=CONFIG_REPO_HELP),
    root: Path = typer.Option(Path(), "--root", help="A folder inside the workspace."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check the gates and print the plan; change nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Promote freight into a stage after its gates (maturity, upstream, stable tag, approval, vulnerabilities).

    Exit 1 if refused. Manual stages re-read Harbor's vulnerability reports (SHIPYARD_HARBOR_USERNAME/PASSWORD).
    """
    from shipyard.cli.context import load_context
    from shipyard.errors import ShipyardError
    from shipyard.promotion.executor import approver_name, promote_auto
    from shipyard.promotion.executor import promote as run_promote
    from shipyard.promotion.gates import GateRefused

    if auto == (to is not None):
        raise ShipyardError("use either --auto, or --to STAGE with --freight ID or --version V")
    if to is not None and (freight is None) == (version is None):
        raise ShipyardError("name the freight with exactly one of --freight ID or --version V")
    ctx = load_context(root, config_repo)
    try:
        if auto:
            _report(promote_auto(ctx.platform, ctx.config_repo, ctx.tags, dry_run=dry_run), as_json)
            return
        assert to is not None
        outcome = run_promote(
            ctx.platform,
            ctx.config_repo,
            to,
            ctx.tags,
            freight=freight,
            version=version,
            approve=approve,
            approver=approver_name(root) if approve else None,
            dry_run=dry_run,
        )
    except GateRefused as refused:
        if as_json:
            emit_json({"refused": True, "stage": to, "gates": [g.to_json() for g in refused.gates]})
        else:
            for gate in refused.gates:
                say(f"  {'ok ' if gate.passed else 'NO '} {gate.name}: {gate.reason}")
            say(f"refused: promotion to {to} did not happen")
        exit_with(1)
        return
    finally:
        ctx.close()
    _report(outcome, as_json)


def rollback(
    env: str = typer.Option(..., "--env", help="The environment to roll back."),
    to: str | None = typer.Option(None, "--to", help="A version the environment ran before; default: the previous."),
    config_repo: str | None = typer.Option(None, "--config-repo", help=CONFIG_REPO_HELP),
    root: Path = typer.Option(Path(), "--root", help="A folder inside the workspace."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan; change nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Return ENV to an earlier freight it ran, as a new commit (history is never rewritten)."""
    from shipyard.cli.context import load_context
    from shipyard.promotion.executor import approver_name
    from shipyard.promotion.executor import rollback as run_rollback

    ctx = load_context(root, config_repo)
    outcome = run_rollback(ctx.platform, ctx.config_repo, env, to=to, actor=approver_name(root), dry_run=dry_run)
    _report(outcome, as_json)


def _report(outcome: Outcome, as_json: bool) -> None:
    if as_json:
        emit_json(outcome.to_json())
        return
    for move in outcome.moves:
        for gate in move.gates:
            say(f"  ok  {gate.name}: {gate.reason}")
    print(outcome.plan.to_text())
    for move in outcome.moves:
        if move.commit:
            print(f"{move.subject}: {move.commit[:12]}")
    if not outcome.moves and not outcome.plan.notes:
        say("nothing to promote")
