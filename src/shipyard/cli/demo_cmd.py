"""``shipyard demo``: the whole flow on a throw-away platform."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command."""
    app.command("demo")(demo)


def demo(
    keep: Path | None = typer.Option(None, "--keep", help="Build the demo platform here and keep it."),
) -> None:
    """Build a throw-away platform with init in a temporary folder and show, step by step, what works."""
    from shipyard.demo.run import run_demo

    if not run_demo(keep):
        raise typer.Exit(1)
