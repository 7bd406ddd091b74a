"""Running the demo's steps in a scratch folder."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.rule import Rule

from shipyard.demo.context import DemoContext
from shipyard.demo.steps import STEPS


def run_steps(ctx: DemoContext) -> bool:
    """Run every step in ``ctx``, then stop the parts they started; True when all passed. What the story
    found (versions, digests, pull request numbers) is left in ``ctx.facts``."""
    console = ctx.console
    try:
        for number, (title, step) in enumerate(STEPS, 1):
            console.print(Rule(f"[bold]{number}/{len(STEPS)} {title}"))
            if step.__doc__:
                console.print(f"[italic]{' '.join(step.__doc__.split())}[/]")
            started = time.perf_counter()
            try:
                step(ctx)
            except Exception as exc:  # a demo step failing must say which and stop, not dump a traceback
                console.print(f"[red]step failed:[/] {exc}")
                return False
            console.print(f"[green]done[/] in {time.perf_counter() - started:.2f}s")
        return True
    finally:
        for cleanup in reversed(ctx.cleanups):
            cleanup()


def run_demo(keep: Path | None = None, console: Console | None = None) -> bool:
    """Run every step; return True when all passed. ``keep`` keeps the scratch folder there."""
    console = console or Console()
    scratch = keep if keep else Path(tempfile.mkdtemp(prefix="shipyard-demo-"))
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        return run_steps(DemoContext(scratch=scratch, console=console))
    finally:
        if keep is None:
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            console.print(f"kept the demo platform in {scratch}")
