"""`shipyard affected` against `git diff --name-only` (the floor), `turbo ls --affected` and
`nx show projects --affected` on generated monorepos, for ranges of 1, 50 and 500 commits, in three
modes: cold (page cache and tool caches dropped before every run; median of --cold-runs), fresh (tool
caches dropped, page cache kept: a CI run in a fresh clone on a node that ran the same image before;
median of --cold-runs) and warm (median of --runs).

Three monorepos (``SHAPES``): the 2,000-project one the goals were set on, and two of other sizes,
file counts and dependency shapes, so that the numbers are not those of one repository.

    python -m benchmarks affected [--shapes=layered,chains,fan-in] [--projects=N] [--commits=N]
                                  [--runs=5] [--cold-runs=3] [--keep=DIR]

Every tool's answer is checked against Shipyard's: the table says "same" only when the project sets
are equal.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from benchmarks.affected.monorepo import Shape, generate

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".tools" / "npm-test" / "node_modules"
RANGES = (1, 50, 500)
SHAPES = {
    # 2,000 projects, 48,407 files: each package depends on a few of the 150 before it.
    "layered": Shape(),
    # 600 projects, 25,927 files: ten chains of 48 packages, services at their ends (50 hops deep).
    "chains": Shape(services=120, packages=480, source_files=40, commits=1500, seed=11, graph="chains"),
    # 5,000 projects, 46,007 files: twenty core packages every project depends on.
    "fan-in": Shape(services=1000, packages=4000, source_files=6, commits=4000, seed=13, graph="fan-in"),
}


@dataclass
class Tool:
    """A command to time and a parser of its answer (None for the floor, which names files, not projects)."""

    name: str
    argv: Callable[[str], list[str]]
    env: dict[str, str]
    parse: Callable[[str], set[str]] | None
    caches: tuple[str, ...] = ()


def _names(items: list[str]) -> set[str]:
    return {item.rsplit("/", 1)[-1] for item in items}


def _parse_shipyard(out: str) -> set[str]:
    data = json.loads(out)
    return {p["name"] for p in data["services"] + data["packages"]}


def _parse_turbo(out: str) -> set[str]:
    return _names([i["name"] for i in json.loads(out[out.index("{") :])["packages"]["items"]])


def _parse_nx(out: str) -> set[str]:
    return _names(json.loads(out[out.index("[") :]))


def tools() -> list[Tool]:
    """The contenders; turbo and nx come from deps/npm-test (installed by `make test-deps`)."""
    quiet = {"TURBO_TELEMETRY_DISABLED": "1", "DO_NOT_TRACK": "1", "TURBO_NO_UPDATE_NOTIFIER": "1"}
    found = [
        Tool("git diff", lambda base: ["git", "diff", "--name-only", base, "HEAD"], {}, None),
        Tool(
            "shipyard",
            lambda base: [sys.executable, "-m", "shipyard", "affected", "--base", base, "--json"],
            {},
            _parse_shipyard,
            (".git/shipyard",),
        ),
    ]
    turbo = TOOLS / ".bin" / "turbo"
    if turbo.exists():
        found.append(
            Tool(
                "turbo",
                lambda base: [str(turbo), "ls", "--affected", "--output=json"],
                {**quiet, "TURBO_SCM_HEAD": "HEAD"},
                _parse_turbo,
                (".turbo", "node_modules/.cache/turbo"),
            )
        )
    nx = TOOLS / ".bin" / "nx"
    if nx.exists():
        found.append(
            Tool(
                "nx",
                lambda base: [str(nx), "show", "projects", "--affected", f"--base={base}", "--head=HEAD", "--json"],
                {"NX_DAEMON": "false", "NX_NO_CLOUD": "true", "NX_TUI": "false"},
                _parse_nx,
                (".nx", "node_modules/.cache/nx"),
            )
        )
    return found


def drop_page_cache() -> str | None:
    """Drop the kernel's page cache; the reason it could not be dropped, or None."""
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError as exc:
        return f"page cache NOT dropped ({exc.strerror}): cold numbers are tool-cache-cold only"
    return None


@dataclass(frozen=True)
class Timing:
    """Wall-clock and CPU (user + system, the tool and every process it waited for) seconds of one run."""

    wall: float
    cpu: float


def timed(tool: Tool, repo: Path, base: str) -> tuple[Timing, str]:
    env = {**os.environ, **tool.env}
    if tool.name == "turbo":
        env["TURBO_SCM_BASE"] = base
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(tool.argv(base), cwd=repo, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{tool.name} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Timing(elapsed, cpu), proc.stdout


def run(argv: list[str]) -> None:
    """Generate each monorepo, time every tool on every range, print a table per monorepo."""
    options = dict(a.split("=", 1) for a in argv if "=" in a)
    names = options.get("--shapes", ",".join(SHAPES)).split(",")
    unknown = sorted(set(names) - set(SHAPES))
    if unknown:
        sys.exit(f"unknown shape(s): {', '.join(unknown)}; known: {', '.join(SHAPES)}")
    scratch = Path(options["--keep"]) if "--keep" in options else Path(tempfile.mkdtemp(prefix="shipyard-bench-"))
    try:
        for name in names:
            shape = SHAPES[name]
            if "--projects" in options:
                projects = int(options["--projects"])
                shape = replace(shape, services=projects // 5, packages=projects - projects // 5)
            if "--commits" in options:
                shape = replace(shape, commits=int(options["--commits"]))
            print(f"-- shape {name}")
            run_shape(scratch / name, shape, int(options.get("--runs", "5")), int(options.get("--cold-runs", "3")))
    finally:
        if "--keep" not in options:
            shutil.rmtree(scratch, ignore_errors=True)


def run_shape(repo: Path, shape: Shape, runs: int, cold_runs: int) -> None:
    """Generate one monorepo (unless ``repo`` holds it already), time every tool, print the table."""
    if not (repo / ".git").is_dir():
        started = time.perf_counter()
        generate(repo, shape)
        projects = shape.services + shape.packages
        print(f"generated {projects} projects, {shape.commits} commits in {time.perf_counter() - started:.1f}s")

    def count(*args: str) -> int:
        return len(subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True).stdout.splitlines())

    services = count("ls-tree", "HEAD", "services/")
    print(
        f"monorepo: {services + count('ls-tree', 'HEAD', 'packages/')} projects ({services} services), "
        f"{count('ls-files')} files, {count('rev-list', 'HEAD')} commits, {shape.graph} dependency graph"
    )
    if (TOOLS / "nx").is_dir() and not (repo / "node_modules").exists():
        # Nx looks for its own modules in the workspace; link the pinned install (ignored by git).
        (repo / "node_modules").symlink_to(TOOLS)
    contenders = tools()
    missing = {"turbo", "nx"} - {t.name for t in contenders}
    if missing:
        print(f"NOT measured (run `make test-deps` to install): {', '.join(sorted(missing))}")
    rows = [measure(repo, contenders, depth, runs, cold_runs) for depth in RANGES]
    print_table(rows, [t.name for t in contenders])


@dataclass
class Row:
    depth: int
    changed_files: int
    projects: int
    cold: dict[str, Timing]
    fresh: dict[str, Timing]
    warm: dict[str, Timing]
    agree: dict[str, str]
    notes: list[str]


def _median(times: list[Timing]) -> Timing:
    return Timing(statistics.median(t.wall for t in times), statistics.median(t.cpu for t in times))


def measure(repo: Path, contenders: list[Tool], depth: int, runs: int, cold_runs: int) -> Row:
    base = subprocess.run(
        ["git", "rev-parse", f"HEAD~{depth}"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    notes: list[str] = []
    outputs: dict[str, str] = {}

    def rounds(count: int, *, drop_caches: bool, drop_pages: bool) -> dict[str, Timing]:
        # Round-robin, not tool after tool: on a shared machine the load drifts, and every tool should
        # see the same drift.
        times: dict[str, list[Timing]] = {tool.name: [] for tool in contenders}
        for _ in range(count):
            for tool in contenders:
                if drop_caches:
                    for cache in tool.caches:
                        shutil.rmtree(repo / cache, ignore_errors=True)
                note = drop_page_cache() if drop_pages else None
                if note and note not in notes:
                    notes.append(note)
                timing, outputs[tool.name] = timed(tool, repo, base)
                times[tool.name].append(timing)
        return {name: _median(timings) for name, timings in times.items()}

    cold = rounds(cold_runs, drop_caches=True, drop_pages=True)
    fresh = rounds(cold_runs, drop_caches=True, drop_pages=False)
    warm = rounds(runs, drop_caches=False, drop_pages=False)
    changed = len(outputs["git diff"].splitlines())
    answers = {tool.name: tool.parse(outputs[tool.name]) for tool in contenders if tool.parse is not None}
    ours = answers["shipyard"]
    agree = {}
    for name, answer in answers.items():
        if name != "shipyard":
            agree[name] = "same" if answer == ours else f"DIFFERENT (+{len(answer - ours)} -{len(ours - answer)})"
    return Row(depth, changed, len(ours), cold, fresh, warm, agree, notes)


def print_table(rows: list[Row], names: list[str]) -> None:
    peers = [n for n in names if n not in ("shipyard", "git diff")]
    header = ["range", "files", "projects", "mode", *names, *(f"{p}/shipyard" for p in peers), "same answer"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        for mode, numbers in (("cold", row.cold), ("fresh", row.fresh), ("warm", row.warm)):
            cells = [
                f"{row.depth} commit{'s' if row.depth > 1 else ''}",
                str(row.changed_files),
                str(row.projects),
                mode,
            ]
            cells += [f"{numbers[n].wall * 1000:.0f} ms (cpu {numbers[n].cpu * 1000:.0f})" for n in names]
            ours = numbers["shipyard"]
            cells += [f"{numbers[p].wall / ours.wall:.1f}x (cpu {numbers[p].cpu / ours.cpu:.1f}x)" for p in peers]
            cells.append(", ".join(f"{k}: {v}" for k, v in row.agree.items()) or "-")
            lines.append("| " + " | ".join(cells) + " |")
    print("\n".join(lines))
    for note in dict.fromkeys(n for row in rows for n in row.notes):
        print(f"note: {note}")
    print(
        "cold = page cache dropped and tool caches (.git/shipyard, .turbo, .nx) removed before each run, "
        "median of the cold runs; fresh = tool caches removed, page cache kept, median of as many runs; "
        "warm = median of the runs after them"
    )
    print("cpu = user + system time of the tool and the processes it ran; ratios > 1 mean Shipyard is faster")
