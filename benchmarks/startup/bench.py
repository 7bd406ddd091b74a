"""Start-up time: CI runs `shipyard` in many short steps, so each call's fixed cost matters.

Compares `shipyard --version` and `shipyard branch check main` (inside the scaffolded example, so
discovery runs) with `python -c pass`, the floor any Python CLI pays. Goal: under 150 ms.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 25


def _median_ms(command: list[str], cwd: Path) -> float:
    subprocess.run(command, cwd=cwd, capture_output=True, check=True)  # warm the page cache
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, capture_output=True, check=True)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def run(argv: list[str]) -> None:
    """Print the start-up table."""
    shipyard = shutil.which("shipyard", path=str(Path(sys.executable).parent)) or "shipyard"
    scratch = Path(tempfile.mkdtemp(prefix="shipyard-bench-startup-"))
    try:
        subprocess.run(
            [shipyard, "init", "acme", "--org", "acme", "--domain", "acme.example.com"],
            cwd=scratch,
            capture_output=True,
            check=True,
        )
        repo = scratch / "acme"
        floor = _median_ms([sys.executable, "-c", "pass"], repo)
        rows = [
            ("python -c pass (floor)", floor),
            ("shipyard --version", _median_ms([shipyard, "--version"], repo)),
            ("shipyard branch check main", _median_ms([shipyard, "branch", "check", "main"], repo)),
        ]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"median of {RUNS} runs")
    print(f"| {'command':<28} | {'ms':>7} | {'x floor':>7} | {'goal < 150 ms':>13} |")
    print(f"|{'-' * 30}|{'-' * 9}|{'-' * 9}|{'-' * 15}|")
    for name, ms in rows:
        verdict = "-" if name.startswith("python") else ("met" if ms < 150 else "missed")
        print(f"| {name:<28} | {ms:7.1f} | {ms / floor:7.1f} | {verdict:>13} |")
