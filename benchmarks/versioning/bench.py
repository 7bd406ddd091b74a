"""Version computation on a big history: 100,000 commits and 20,000 tags, generated with git fast-import.

The history is GitFlow-shaped: a develop line with an alpha tag on about every fifth commit, and 100
release cycles, each a release branch with five betas merged into main (stable tag) and main merged back
into develop. HEAD is an untagged develop commit, so every tool has to work out a new version.

Compared in one run, on the same repository:
- the floor: ``git for-each-ref --merged=HEAD 'refs/tags/v*'`` (just listing the reachable version tags),
  with and without a commit-graph;
- ``git describe --tags``;
- ``shipyard version`` (the command, start-up included, and the library call alone);
- commitizen's ``cz bump --dry-run`` (``version_scheme = "semver2"``);
- python-semantic-release's ``semantic-release version --print`` (with a time limit: it takes minutes).

Options: ``--commits N`` ``--tags N`` (defaults 100000 / 20000), ``--timeout S`` for the slow peers
(default 300), ``--fresh`` to regenerate the repository.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE.parent / ".work"
PEERS = WORK / "venv"  # python-semantic-release and commitizen live apart from Shipyard's own venv
T0 = 1_700_000_000
RELEASE_COMMITS = 5

PYPROJECT = """\
[project]
name = "bench"
version = "0.0.0"

[tool.commitizen]
name = "cz_conventional_commits"
version_provider = "scm"
version_scheme = "semver2"
tag_format = "v$version"

[tool.semantic_release]
tag_format = "v{version}"
allow_zero_version = true

[tool.semantic_release.branches.develop]
match = "develop"
prerelease = true
prerelease_token = "alpha"
"""


def _stamp(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y%m%d%H%M%S")


def generate(path: Path, commits: int, tags: int) -> None:
    """Write the history with one ``git fast-import`` stream."""
    if path.exists():
        shutil.rmtree(path)
    subprocess.run(["git", "init", "--quiet", "--initial-branch=develop", str(path)], check=True)
    stream: list[bytes] = []
    mark = 0
    clock = T0
    tag_count = 0

    def data(text: str) -> None:
        raw = text.encode()
        stream.append(b"data %d\n" % len(raw) + raw + b"\n")

    def commit(ref: str, message: str, parents: list[int], files: str = "") -> int:
        nonlocal mark, clock
        mark += 1
        clock += 60
        stream.append(f"commit {ref}\nmark :{mark}\ncommitter Bench <bench@example.com> {clock} +0000\n".encode())
        data(message)
        if parents:
            stream.append(f"from :{parents[0]}\n".encode())
        for parent in parents[1:]:
            stream.append(f"merge :{parent}\n".encode())
        stream.append(files.encode())
        return mark

    def tag(name: str, target: int) -> None:
        nonlocal tag_count
        tag_count += 1
        stream.append(f"tag {name}\nfrom :{target}\ntagger Bench <bench@example.com> {clock} +0000\n".encode())
        data(name)

    cycles = max(1, tags // 200)  # 100 release cycles for 20,000 tags
    per_cycle = (commits - 1) // (cycles + 1)
    develop_per_cycle = per_cycle - RELEASE_COMMITS - 2
    develop_total = commits - 1 - cycles * (RELEASE_COMMITS + 2)
    alphas = tags - cycles * (RELEASE_COMMITS + 1) + 1  # one more: HEAD itself stays untagged
    files = f"M 644 inline pyproject.toml\ndata {len(PYPROJECT)}\n{PYPROJECT}\n"
    root = commit("refs/heads/develop", "chore: start", [], files)
    develop, main = root, root
    stream.append(b"reset refs/heads/main\nfrom :%d\n\n" % root)
    done = 0
    for cycle in range(1, cycles + 2):
        last = cycle == cycles + 1
        count = develop_total - done if last else develop_per_cycle
        for _ in range(count):
            done += 1
            kind = "feat" if done % 3 else "fix"
            develop = commit("refs/heads/develop", f"{kind}: change {done}", [develop])
            # Alpha tags spread evenly over develop; HEAD itself stays untagged.
            if (done * alphas) // develop_total > ((done - 1) * alphas) // develop_total and not (
                last and done == develop_total
            ):
                tag(f"v1.{cycle}.0-alpha.{_stamp(clock)}", develop)
        if last:
            break
        release = develop
        for number in range(1, RELEASE_COMMITS + 1):
            release = commit(f"refs/heads/release/v1.{cycle}.0", f"fix: release fix {number}", [release])
            tag(f"v1.{cycle}.0-beta.{number}", release)
        main = commit("refs/heads/main", f"Merge branch 'release/v1.{cycle}.0'", [main, release])
        tag(f"v1.{cycle}.0", main)
        develop = commit("refs/heads/develop", "Merge branch 'main' into develop", [develop, main])
        stream.append(
            f"reset refs/heads/release/v1.{cycle}.0\nfrom 0000000000000000000000000000000000000000\n\n".encode()
        )
    subprocess.run(["git", "-C", str(path), "fast-import", "--quiet"], input=b"".join(stream), check=True)
    for ref in subprocess.run(
        ["git", "-C", str(path), "for-each-ref", "--format=%(refname)", "refs/heads/release"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split():
        subprocess.run(["git", "-C", str(path), "update-ref", "-d", ref], check=True)
    subprocess.run(["git", "-C", str(path), "pack-refs", "--all"], check=True)
    subprocess.run(["git", "-C", str(path), "checkout", "--quiet", "--force", "develop"], check=True)
    remote = path.parent / "versioning-remote.git"
    if remote.exists():
        shutil.rmtree(remote)
    subprocess.run(["git", "clone", "--quiet", "--bare", str(path), str(remote)], check=True)
    subprocess.run(["git", "-C", str(path), "remote", "add", "origin", remote.as_uri()], check=True)
    subprocess.run(["git", "-C", str(path), "fetch", "--quiet", "origin"], check=True)
    print(f"generated {mark} commits and {tag_count} tags in {path}")


Row = tuple[str, float | None, float | None, str]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(name: str, command: list[str], cwd: Path, runs: int, timeout: float | None = None) -> Row:
    """Median wall time and CPU time (user + system, git children included) of ``command``, and its last line.

    The machine may be shared: CPU time is the steadier measure, wall time is what a user waits.
    """
    walls: list[float] = []
    cpus: list[float] = []
    out = ""
    for _ in range(runs):
        started, cpu = time.perf_counter(), _children_cpu()
        try:
            proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return name, None, None, f"timed out after {timeout:.0f}s"
        walls.append(time.perf_counter() - started)
        cpus.append(_children_cpu() - cpu)
        lines = (proc.stdout.strip() or proc.stderr.strip()).splitlines()
        out = lines[-1] if proc.returncode == 0 and lines else f"exit {proc.returncode}: {lines[-1] if lines else ''}"
    return name, statistics.median(walls), statistics.median(cpus), out


def ensure_peers() -> None:
    """A separate venv with the two peer tools (their dependencies clash with nothing of ours there)."""
    if not (PEERS / "bin" / "cz").exists() or not (PEERS / "bin" / "semantic-release").exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEERS)], check=True)
        subprocess.run(
            [str(PEERS / "bin" / "pip"), "install", "--quiet", "-r", str(HERE / "requirements.txt")], check=True
        )


def library_time(repo: Path, runs: int) -> Row:
    """``compute_version`` in-process: the work without Python's start-up."""
    from shipyard.versioning.compute import compute_version

    walls, cpus = [], []
    version = ""
    for _ in range(runs):
        started, cpu = time.perf_counter(), time.process_time() + _children_cpu()
        version = compute_version(repo).version
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() + _children_cpu() - cpu)
    return "shipyard compute_version (library call)", statistics.median(walls), statistics.median(cpus), version


def run(argv: list[str]) -> None:
    """Generate (or reuse) the repository and print the comparison table."""
    options = dict(a.removeprefix("--").split("=", 1) for a in argv if "=" in a)
    commits = int(options.get("commits", 100_000))
    tags = int(options.get("tags", 20_000))
    timeout = float(options.get("timeout", 300))
    repo = WORK / f"versioning-{commits}-{tags}"
    if "--fresh" in argv or not (repo / ".git").exists():
        WORK.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        generate(repo, commits, tags)
        print(f"generation took {time.perf_counter() - started:.1f}s")
    ensure_peers()
    graph = repo / ".git" / "objects" / "info" / "commit-graph"
    floor = ["git", "for-each-ref", "--merged=HEAD", "refs/tags/v*"]
    env_bin = Path(sys.executable).parent
    rows: list[Row] = []

    if graph.exists():
        graph.unlink()
    rows.append(timed("floor: for-each-ref --merged=HEAD, no commit-graph", floor, repo, 5))
    subprocess.run(["git", "-C", str(repo), "commit-graph", "write", "--reachable"], check=True)
    reachable = subprocess.run(floor, cwd=repo, capture_output=True, text=True, check=True).stdout.count("\n")
    name, wall, cpu, _ = timed("floor: for-each-ref --merged=HEAD, commit-graph", floor, repo, 5)
    rows.append((name, wall, cpu, f"{reachable} reachable tags"))
    rows.append(timed("git describe --tags", ["git", "describe", "--tags"], repo, 5))
    rows.append(timed("shipyard version (command, start-up included)", [str(env_bin / "shipyard"), "version"], repo, 5))
    rows.append(library_time(repo, 5))
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    rows.append(
        timed("cz bump --dry-run --yes", [str(PEERS / "bin" / "cz"), "bump", "--dry-run", "--yes"], repo, 1, timeout)
    )
    psr = [str(PEERS / "bin" / "semantic-release"), "--noop", "version", "--print"]
    rows.append(timed("semantic-release version --print", psr, repo, 1, timeout))

    _, floor_wall, floor_cpu, _ = rows[1]
    assert floor_wall and floor_cpu
    print(f"\nrepository: {commits} commits, {tags} tags; a commit-graph exists for every row but the first")
    print(f"{'tool':<50} {'wall s':>8} {'x floor':>8} {'cpu s':>8} {'x floor':>8}  result")
    for name, wall, cpu, result in rows:
        if wall is None or cpu is None:
            print(
                f"{name:<50} {'>' + format(timeout, '.0f'):>8} {timeout / floor_wall:>8.0f} {'':>8} {'':>8}  {result}"
            )
            continue
        print(f"{name:<50} {wall:8.3f} {wall / floor_wall:8.2f} {cpu:8.3f} {cpu / floor_cpu:8.2f}  {result[:60]}")
    ours = rows[3][1]
    for name, wall, _, _ in rows[5:]:
        if ours:
            lower = "" if wall is not None else "at least "
            print(f"shipyard version (wall) is {lower}{(wall or timeout) / ours:.0f}x faster than {name}")
