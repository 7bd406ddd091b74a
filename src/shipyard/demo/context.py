"""What every demo step gets: the scratch folder, the monorepo in it, and a way to show output."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console


@dataclass
class DemoContext:
    """Shared state of a demo run. Steps may add what later steps need to ``facts``, the environment every
    command runs with to ``env``, and what stops the parts they started to ``cleanups``."""

    scratch: Path
    console: Console
    facts: dict[str, object] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    cleanups: list[Callable[[], None]] = field(default_factory=list)
    person: dict[str, str] = field(default_factory=dict)  # who acts: git's author and committer variables
    path: list[str] = field(default_factory=list)  # folders put first on PATH (stand-in commands)

    @property
    def repo(self) -> Path:
        """The scaffolded monorepo (a developer's clone of it)."""
        return self.scratch / "acme"

    def environ(self, *, as_person: bool = True) -> dict[str, str]:
        """The environment of the commands the demo runs; ``as_person``: with the acting person's identity
        (CI's pipelines run as themselves)."""
        search = os.pathsep.join([*self.path, os.environ.get("PATH", "")])
        return {**os.environ, "COLUMNS": "120", "PATH": search, **self.env, **(self.person if as_person else {})}

    def stand_in(self, text: str) -> None:
        """Say on screen that a stand-in takes the place of a real part, and which."""
        self.console.print(f"[yellow]stand-in:[/] {text}")

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
            env=self.environ(),
        )
        output = (proc.stdout + proc.stderr).rstrip()
        if output:
            self.console.print(output, markup=False, highlight=False, soft_wrap=True)
        if proc.returncode != expect:
            raise RuntimeError(f"shipyard {shlex.join(args)} exited {proc.returncode}, expected {expect}")
        return proc.stdout

    def stream(self, *args: str) -> None:
        """Run ``shipyard`` as CI would (no person's identity) and show its output line by line as it comes
        (a pipeline run takes a while)."""
        self.console.print(f"[dim]$[/] [bold]shipyard {shlex.join(args)}[/]")
        with subprocess.Popen(
            [sys.executable, "-m", "shipyard", *args],
            cwd=self.repo,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.environ(as_person=False),
        ) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                self.console.print(line.rstrip(), markup=False, highlight=False, soft_wrap=True)
        if proc.returncode != 0:
            raise RuntimeError(f"shipyard {shlex.join(args)} exited {proc.returncode}, expected 0")

    def git(self, *args: str, show: bool = True) -> str:
        """Run git in the monorepo as a developer would (echoed with its output unless ``show`` is false);
        return stdout."""
        if show:
            self.console.print(f"[dim]$[/] [bold]git {shlex.join(args)}[/]")
        proc = subprocess.run(
            ["git", *args], cwd=self.repo, capture_output=True, text=True, check=False, env=self.environ()
        )
        if proc.returncode != 0:
            raise RuntimeError(f"git {shlex.join(args)} exited {proc.returncode}: {proc.stderr.strip()}")
        if show and proc.stdout.strip():
            self.console.print(proc.stdout.rstrip(), markup=False, highlight=False, soft_wrap=True)
        return proc.stdout.strip()
