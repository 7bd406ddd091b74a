"""What every demo step gets: the scratch folder, the monorepo in it, and a way to show output."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console


@dataclass
class DemoContext:
    """Shared state of a demo run. Steps may add what later steps need to ``facts``."""

    scratch: Path
    console: Console
    facts: dict[str, object] = field(default_factory=dict)

    @property
    def repo(self) -> Path:
        """The scaffolded monorepo."""
        return self.scratch / "acme"

    def shipyard(self, *args: str, cwd: Path | None = None, expect: int = 0) -> str:
        """Run the real ``shipyard`` command as a user would, echo it and its output, and return stdout."""
        where = cwd or self.repo
        self.console.print(f"[dim]$[/] [bold]shipyard {shlex.join(args)}[/]")
        proc = subprocess.run(
            [sys.executable, "-m", "shipyard", *args],
            cwd=where,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "COLUMNS": "120"},
        )
        output = (proc.stdout + proc.stderr).rstrip()
        if output:
            self.console.print(output, markup=False, highlight=False, soft_wrap=True)
        if proc.returncode != expect:
            raise RuntimeError(f"shipyard {shlex.join(args)} exited {proc.returncode}, expected {expect}")
        return proc.stdout
