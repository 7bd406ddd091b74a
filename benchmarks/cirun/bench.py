"""``shipyard ci run``'s own overhead: everything but the step processes, per task, against running the same
step scripts directly, on a PR pipeline of a 50-service monorepo. Goal: under 10 % and under 50 ms a task.

The monorepo's ``tekton/`` is rendered by ``shipyard ci render``; its ``pr-validation`` Pipeline is replaced by
a hand-made one of the same shape that this machine can run (the rendered one builds with buildah and scans with
Trivy): clone, version, affected (an array result), a matrix over the 50 services with the build Task's five
steps (select, test, build, scan, gate), preview, and a finally task reading ``$(tasks.status)``.

The direct run executes the very script files ``ci run`` wrote (variables already substituted), in the same
order, each as a process from Python, on a fresh copy of the workspace: what remains is ``ci run``'s cost
(start-up, loading and checking tekton/, the plan, substitution, folders, results, progress, the summary).
Both wall time and CPU time (user + system of every process started) are reported: on a busy machine wall
time mostly measures the other processes, while the CPU time ``ci run`` adds does not depend on them.

Run: ``python -m benchmarks cirun`` (``--services=N``, ``--runs=N``).
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
from pathlib import Path
from typing import Any

SPEC = """apiVersion: shipyard.dev/v1alpha1
kind: Platform
org: bench
domain: bench.example.com
registry:
  url: harbor.bench.example.com
"""

PIPELINE = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: pr-validation}
spec:
  params:
  - {name: git-url}
  - {name: git-revision}
  - {name: pr-number}
  workspaces: [{name: source}]
  tasks:
  - name: clone
    taskRef: {name: bench-clone}
    params: [{name: url, value: $(params.git-url)}, {name: revision, value: $(params.git-revision)}]
    workspaces: [{name: source, workspace: source}]
  - name: version
    taskRef: {name: bench-version}
    runAfter: [clone]
    params: [{name: pr, value: $(params.pr-number)}]
    workspaces: [{name: source, workspace: source}]
  - name: affected
    taskRef: {name: bench-affected}
    runAfter: [clone]
    workspaces: [{name: source, workspace: source}]
  - name: build
    taskRef: {name: bench-build}
    params: [{name: version, value: $(tasks.version.results.version)}]
    matrix:
      params: [{name: service, value: "$(tasks.affected.results.services[*])"}]
    workspaces: [{name: source, workspace: source}]
  - name: preview
    taskRef: {name: bench-preview}
    runAfter: [build]
    workspaces: [{name: source, workspace: source}]
  finally:
  - name: feedback
    taskRef: {name: bench-feedback}
    params: [{name: status, value: $(tasks.status)}]
    workspaces: [{name: source, workspace: source}]
"""

TASKS = {
    "bench-clone": (
        ["url", "revision"],
        ["commit"],
        {
            "clone": "git init -q . && git fetch -q '$(params.url)' '$(params.revision)'\n"
            "git checkout -q --force --detach FETCH_HEAD\n"
            'printf %s "$(git rev-parse HEAD)" > $(results.commit.path)',
        },
    ),
    "bench-version": (
        ["pr"],
        ["version"],
        {"version": 'printf "pr-$(params.pr)-%s" "$(git rev-parse --short=7 HEAD)" > $(results.version.path)'},
    ),
    "bench-affected": (
        [],
        ["services:array"],
        {
            "affected": "mkdir -p .shipyard/digests .shipyard/scan\n"
            "set -- services/*; sep=''; printf '[' > $(results.services.path)\n"
            'for s in "$@"; do printf \'%s"%s"\' "$sep" "${s#services/}" >> $(results.services.path); sep=,; done\n'
            "printf ']' >> $(results.services.path)"
        },
    ),
    "bench-build": (
        ["service", "version"],
        [],
        {
            "select": "test -d services/$(params.service)\necho $(params.service) > .shipyard/$(params.service).batch",
            "test": "grep -q 'module.exports' services/$(params.service)/src/index.js\n"
            "wc -l services/$(params.service)/src/*.js",
            "build": "tar -cf .shipyard/$(params.service).tar -C services $(params.service)\n"
            "sha256sum .shipyard/$(params.service).tar | cut -c1-64 > .shipyard/digests/$(params.service)",
            "scan": 'printf \'{"SchemaVersion": 2, "ArtifactName": "%s", "Results": []}\' '
            '"$(params.service):$(params.version)" > .shipyard/scan/$(params.service).json',
            "gate": "python3 -c 'import json, sys; sys.exit(1 if json.load(open(sys.argv[1]))[\"Results\"] else 0)'"
            " .shipyard/scan/$(params.service).json",
        },
    ),
    "bench-preview": ([], [], {"preview": "ls .shipyard/digests | wc -l > .shipyard/preview.txt"}),
    "bench-feedback": (["status"], [], {"comment": 'echo "pipeline: $(params.status)" > .shipyard/feedback.txt'}),
}


def _task(name: str, params: list[str], results: list[str], steps: dict[str, str]) -> str:
    lines = ["apiVersion: tekton.dev/v1", "kind: Task", f"metadata: {{name: {name}}}", "spec:"]
    lines.append("  params: [" + ", ".join(f"{{name: {p}}}" for p in params) + "]")
    lines.append("  workspaces: [{name: source}]")
    declared = [r.split(":") for r in results]
    lines.append(
        "  results: ["
        + ", ".join(f"{{name: {r[0]}, type: {r[1] if len(r) > 1 else 'string'}}}" for r in declared)
        + "]"
    )
    lines.append("  steps:")
    for step, script in steps.items():
        lines.append(f"  - name: {step}")
        lines.append("    image: docker.io/library/alpine:3.20")
        lines.append("    workingDir: $(workspaces.source.path)")
        lines.append("    script: |")
        lines.extend(f"      {line}" for line in ["set -eu", *script.splitlines()])
    return "\n".join(lines) + "\n"


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _monorepo(root: Path, services: int) -> None:
    root.mkdir(parents=True)
    (root / "shipyard.yaml").write_text(SPEC)
    for index in range(services):
        folder = root / "services" / f"svc-{index:02d}"
        (folder / "src").mkdir(parents=True)
        (folder / "Dockerfile").write_text("FROM scratch\nCOPY src /app\n")
        (folder / "package.json").write_text(json.dumps({"name": folder.name, "version": "1.0.0"}) + "\n")
        for part in range(4):
            body = "".join(f"const v{i} = {i} * {part};\n" for i in range(40))
            (folder / "src" / f"part{part}.js").write_text(body)
        (folder / "src" / "index.js").write_text("module.exports = require('./part0.js');\n")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-q", "-m", "monorepo")
    shipyard = [sys.executable, "-m", "shipyard"]
    subprocess.run([*shipyard, "ci", "render", "--app-dir", str(root)], check=True, capture_output=True)
    docs = [PIPELINE, *(_task(name, *spec) for name, spec in TASKS.items())]
    (root / "tekton" / "pipelines" / "pr-validation.yaml").write_text("---\n".join(docs))


def _event(root: Path, path: Path) -> None:
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, check=True, capture_output=True, text=True)
    repository = {"clone_url": str(root), "full_name": "bench/monorepo"}
    body = {
        "action": "opened",
        "number": 7,
        "pull_request": {
            "head": {"sha": head.stdout.strip(), "ref": "feature/bench", "repo": repository},
            "base": {"ref": "main", "repo": repository},
        },
        "repository": repository,
    }
    path.write_text(json.dumps(body))


class _Timed:
    """Wall time and CPU time (user + system) of the child processes started inside the block."""

    def __enter__(self) -> _Timed:
        self.wall, self.cpu = time.perf_counter(), _children_cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, _children_cpu() - self.cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _ci_run(root: Path, event: Path, workdir: Path) -> tuple[_Timed, dict[str, Any]]:
    command = [sys.executable, "-m", "shipyard", "ci", "run", str(event), "--app-dir", str(root)]
    command += ["--workdir", str(workdir), "--json"]
    with _Timed() as timed:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"ci run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return timed, json.loads(done.stdout)


def _scripts(result: dict[str, Any]) -> tuple[list[Path], Path, int]:
    (run,) = result["pipelineRuns"]
    directory = Path(run["directory"])
    scripts = []
    taskruns = 0
    for task in run["tasks"]:
        for taskrun in task["taskRuns"]:
            taskruns += 1
            folder = directory / "tasks" / taskrun["name"] / "scripts"
            scripts += [folder / f"{i}-{step['name']}" for i, step in enumerate(taskrun["steps"])]
    return scripts, directory / "workspaces" / "source", taskruns


def _direct(scripts: list[Path], source: Path, logs: Path) -> _Timed:
    shutil.rmtree(source)
    source.mkdir()
    logs.mkdir(exist_ok=True)
    with _Timed() as timed:
        for index, script in enumerate(scripts):
            with (logs / f"{index}.log").open("wb") as log:
                subprocess.run([str(script)], cwd=source, stdout=log, stderr=subprocess.STDOUT, check=True)
    return timed


def run(argv: list[str]) -> None:
    """Print the table: ci run against the same scripts run directly, and the overhead per TaskRun."""
    services, runs = 50, 5
    for arg in argv:
        if arg.startswith("--services="):
            services = int(arg.split("=", 1)[1])
        elif arg.startswith("--runs="):
            runs = int(arg.split("=", 1)[1])
    samples: dict[str, list[_Timed]] = {"direct": [], "ci": [], "dry": []}
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-cirun-") as scratch:
        root, event = Path(scratch) / "monorepo", Path(scratch) / "event.json"
        _monorepo(root, services)
        _event(root, event)
        dry = [sys.executable, "-m", "shipyard", "ci", "run", str(event), "--app-dir", str(root), "--dry-run"]
        subprocess.run(dry, check=True, capture_output=True)  # warm the page cache
        scripts: list[Path] = []
        taskruns = 0
        for attempt in range(runs):  # interleaved, so a busy moment hurts both sides alike
            with _Timed() as timed:
                subprocess.run(dry, check=True, capture_output=True)
            samples["dry"].append(timed)
            timed, result = _ci_run(root, event, Path(scratch) / f"runs-{attempt}")
            samples["ci"].append(timed)
            scripts, source, taskruns = _scripts(result)
            samples["direct"].append(_direct(scripts, source, Path(scratch) / f"direct-{attempt}"))
    # Wall time: the best run, the one least slowed by other processes; CPU time: the median.
    wall = {k: min(t.wall for t in v) for k, v in samples.items()}
    cpu = {k: statistics.median(t.cpu for t in v) for k, v in samples.items()}
    load = os.getloadavg()[0]
    print(
        f"{services} services: {taskruns} TaskRuns, {len(scripts)} steps; {runs} runs (wall: best, CPU: median); "
        f"load average {load:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"| {'what':<56} | {'wall s':>7} | {'CPU s':>7} |")
    print(f"| {'-' * 56} | {'-' * 7} | {'-' * 7} |")
    rows = [
        ("the same step scripts, run directly one after the other", wall["direct"], cpu["direct"]),
        ("shipyard ci run (the whole command)", wall["ci"], cpu["ci"]),
        ("overhead: ci run minus direct", wall["ci"] - wall["direct"], cpu["ci"] - cpu["direct"]),
        ("  of which start-up, load, checks, plan (--dry-run)", wall["dry"], cpu["dry"]),
    ]
    for name, seconds, used in rows:
        print(f"| {name:<56} | {seconds:7.3f} | {used:7.3f} |")
    for what, numbers in (("wall", wall), ("CPU", cpu)):
        overhead = numbers["ci"] - numbers["direct"]
        print(
            f"{what}: overhead {overhead / numbers['direct']:.1%} of the direct run, "
            f"{overhead / taskruns * 1000:.1f} ms per TaskRun "
            f"({(overhead - numbers['dry']) / taskruns * 1000:.1f} ms without the one-off start-up)"
        )
