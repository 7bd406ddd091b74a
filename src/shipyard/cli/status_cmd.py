"""``shipyard status`` and ``shipyard trace``: what runs where, read from the config repo's history only."""

from __future__ import annotations

from pathlib import Path

import typer

from shipyard.cli import options
from shipyard.cli.output import Format, chosen, emit, is_machine, json_option, output_option

COLORS = {"alpha": "yellow", "beta": "cyan", "stable": "green"}


def register(app: typer.Typer) -> None:
    """Add the ``status`` and ``trace`` commands."""
    app.command("status")(status)
    app.command("trace")(trace)


def status(
    config_repo: str | None = options.CONFIG_REPO,
    root: Path = typer.Option(Path(), "--root", help="A folder inside the workspace."),
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """The board: one row per service, one column per environment, versions colored by maturity, pending moves
    (with who approved them so far)."""
    from shipyard.cli.context import load_context
    from shipyard.promotion.board import board
    from shipyard.promotion.decide import approval_queue
    from shipyard.promotion.ledger import read_ledger
    from shipyard.stages.graph import build_graph

    fmt = chosen(output, as_json)
    ctx = load_context(root, config_repo)
    ledger = read_ledger(ctx.config_repo)
    result = board(build_graph(ctx.platform), ledger, approval_queue(ctx.platform, ledger, ctx.root).waiting)
    if is_machine(fmt):
        emit(result.to_json(), fmt)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Where every service runs")
    for name in ("service", *result.environments):
        table.add_column(name, overflow="fold")  # a long alpha version folds rather than losing its end
    for service in result.services:
        row = [service]
        for env in result.environments:
            cell = result.cells.get((service, env))
            row.append(f"[{COLORS.get(cell.maturity or '', 'white')}]{cell.version}[/]" if cell else "[dim]-[/]")
        table.add_row(*row)
    console = Console()
    console.print(table)
    for item in result.pending:
        console.print(f"pending: {item.version} -> {item.stage} ({item.mode}: {item.note})", highlight=False)
    if not result.pending:
        console.print("pending: nothing")


def trace(
    service: str = typer.Argument(..., help="The service to trace."),
    env: str | None = typer.Option(None, "--env", help="Only this environment."),
    config_repo: str | None = options.CONFIG_REPO,
    root: Path = typer.Option(Path(), "--root", help="A folder inside the workspace."),
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """What runs where for SERVICE: version, source commit and PR, since when, promoted by whom, the path taken."""
    from shipyard.cli.context import load_context
    from shipyard.promotion.board import Trace
    from shipyard.promotion.board import trace as run_trace
    from shipyard.promotion.ledger import read_ledger
    from shipyard.stages.graph import build_graph

    fmt = chosen(output, as_json)
    ctx = load_context(root, config_repo)
    placements = run_trace(build_graph(ctx.platform), read_ledger(ctx.config_repo), service, env)
    if is_machine(fmt):
        emit(Trace(service, placements).to_json(), fmt)
        return
    if not placements:
        print(f"{service} runs nowhere yet")
    for p in placements:
        origin = f"commit {p.source_commit[:12]}" if p.source_commit else "commit unknown"
        if p.pr:
            origin += f", PR #{p.pr}"
        elif p.release_prs:
            origin += ", the release's PRs " + ", ".join(f"#{pr}" for pr in p.release_prs)
        how = "rolled back" if p.rollback else "promoted"
        print(f"{p.env}: {p.version} ({p.digest[:19]}) from {origin}; Argo CD Application {p.application}")
        print(f"  since {p.since}, {how} by {p.promoted_by} in {p.commit[:12]}; freight {p.freight[:12]}")
        print("  path: " + " -> ".join(f"{hop.stage} ({hop.date}, {hop.by})" for hop in p.path))
