"""Preview clean-up over 5,000 previews (goal: under a second), against the seed's kubectl + jq CronJob logic.

Shipyard is timed three ways on the same 5,000 previews: deciding from a config repo clone (reading every
``previews/pr-<n>/namespace.yaml`` from git's objects), the whole ``preview gc`` run (clone, decide, remove, commit,
push to a bare repo), and deciding from a NamespaceList (the ``--cluster`` input). The peer is the
seed's pipeline, ``kubectl get namespace -l ... -o json | jq 'select(created-at | fromdateiso8601 <
now - 7d)'``, run on the same NamespaceList from a file (no cluster here), with Shipyard's label and
annotation names so that both look for the same thing. A second data set adds what real clusters hold:
timestamps with offsets, malformed ones, foreign namespaces. Run: ``python -m benchmarks previews``.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shipyard.git import Git
from shipyard.k8s.yaml import load_all
from shipyard.previews.cleanup import preview_gc
from shipyard.previews.cluster import candidates_from_list
from shipyard.previews.gc import plan_gc
from shipyard.previews.marks import NamePattern, protected_namespaces
from shipyard.previews.read import read_committed_candidates
from shipyard.previews.render import PreviewRequest, render_preview
from shipyard.spec.loader import parse_spec
from shipyard.times import format_rfc3339

SPEC = """apiVersion: shipyard.dev/v1alpha1
kind: Platform
org: acme
domain: acme.example.com
registry: {url: harbor.acme.example.com}
"""
NOW = datetime(2024, 12, 1, tzinfo=UTC)
SEED_JQ = (
    '.items[] | select(.metadata.labels."shipyard.dev/preview" == "true")'
    ' | select(.metadata.annotations."shipyard.dev/created-at" | fromdateiso8601 < ($now - 604800))'
    " | .metadata.name"
)


def _namespaces(count: int, messy: bool) -> list[dict[str, Any]]:
    platform = parse_spec(SPEC)
    rng = random.Random(9)
    items = []
    for number in range(1, count + 1):
        created = NOW - timedelta(seconds=rng.randint(0, 30 * 86400))
        files = render_preview(platform, PreviewRequest(number, f"{number:040x}", ("web",)), created)
        [namespace] = load_all(files["namespace.yaml"])
        annotations = namespace["metadata"]["annotations"]
        if messy and number % 10 == 0:
            annotations["shipyard.dev/created-at"] = created.astimezone().isoformat()  # valid, with an offset
        if messy and number % 97 == 0:
            annotations["shipyard.dev/created-at"] = "last tuesday"
        items.append({"apiVersion": "v1", "kind": "Namespace", **namespace, "status": {"phase": "Active"}})
    if messy:
        items += [{"metadata": {"name": n, "labels": {"shipyard.dev/preview": "true"}}} for n in ("staging", "team-a")]
    return items


def _write_repo(scratch: Path, count: int) -> tuple[Path, str]:
    platform = parse_spec(SPEC)
    rng = random.Random(9)
    bare = scratch / "config.git"
    Git(scratch).run("init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    checkout = scratch / "checkout"
    Git(scratch).run("clone", "--quiet", str(bare), str(checkout))
    for number in range(1, count + 1):
        created = NOW - timedelta(seconds=rng.randint(0, 30 * 86400))
        folder = checkout / "previews" / f"pr-{number}"
        folder.mkdir(parents=True)
        for name, text in render_preview(platform, PreviewRequest(number, f"{number:040x}", ("web",)), created).items():
            (folder / name).write_text(text)
    git = Git(checkout)
    git.run("checkout", "--quiet", "-b", "main")
    git.commit("5,000 previews")
    git.run("push", "--quiet", "origin", "main")
    return checkout, str(bare)


def _best(runs: int, action: Any) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - started)
    return best, result


def _jq(path: Path) -> tuple[int, list[str], str]:
    proc = subprocess.run(
        ["jq", "-r", "--argjson", "now", str(int(NOW.timestamp())), SEED_JQ, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.returncode, proc.stdout.split(), proc.stderr.strip().splitlines()[:1][0] if proc.stderr else ""


def run(argv: list[str]) -> None:
    count = next((int(a.split("=", 1)[1]) for a in argv if a.startswith("--n=")), 5000)
    platform = parse_spec(SPEC)
    names = NamePattern(platform.preview.namespace)
    protected = protected_namespaces([e.ns for e in platform.environments])
    scratch = Path(tempfile.mkdtemp(prefix="shipyard-bench-previews-"))
    rows: list[tuple[str, str, float, str]] = []
    try:
        checkout, bare = _write_repo(scratch, count)

        def decide_repo() -> Any:
            return plan_gc(
                read_committed_candidates(checkout), now=NOW, max_deletions=count, protected=protected, names=names
            )

        seconds, report = _best(3, decide_repo)
        rows.append(
            ("shipyard", f"decide from {count} committed directories", seconds, f"{len(report.delete)} expired")
        )
        seconds, (report, _commit) = _best(
            1, lambda: preview_gc(bare, platform, NOW, max_deletions=count, pr_states=None, dry_run=False)
        )
        rows.append(
            ("shipyard", "preview gc: clone, decide, rm, commit, push", seconds, f"{len(report.delete)} removed")
        )

        for label, messy in (("clean", False), ("messy", True)):
            data = _namespaces(count, messy)
            listing = scratch / f"namespaces-{label}.json"
            listing.write_text(json.dumps({"apiVersion": "v1", "kind": "NamespaceList", "items": data}))

            def decide_list(path: Path = listing) -> Any:
                document = json.loads(path.read_text())
                return plan_gc(
                    candidates_from_list(document), now=NOW, max_deletions=count, protected=protected, names=names
                )

            seconds, report = _best(3, decide_list)
            outcome = f"{len(report.delete)} expired, {len(report.skipped)} skipped"
            rows.append(("shipyard", f"decide from NamespaceList ({label})", seconds, outcome))
            if shutil.which("jq"):

                def run_jq(path: Path = listing) -> tuple[int, list[str], str]:
                    return _jq(path)

                seconds, (code, selected, error) = _best(3, run_jq)
                outcome = f"{len(selected)} selected" + (f", exit {code}: {error}" if code else "")
                rows.append(("seed kubectl|jq", f"jq filter on NamespaceList ({label})", seconds, outcome))
            else:
                rows.append(("seed kubectl|jq", f"jq filter ({label})", float("nan"), "jq not installed"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    base = {what.split("(")[-1]: s for tool, what, s, _ in rows if tool == "shipyard" and "NamespaceList" in what}
    print(f"{'tool':<16} {'what':<48} {'seconds':>8} {'vs shipyard':>11}  result")
    for tool, what, seconds, outcome in rows:
        ratio = ""
        if tool != "shipyard" and what.split("(")[-1] in base:
            ratio = f"{seconds / base[what.split('(')[-1]]:.2f}x"
        print(f"{tool:<16} {what:<48} {seconds:>8.3f} {ratio:>11}  {outcome}")
    print(f"now = {format_rfc3339(NOW)}; goal: deciding over {count} previews in under a second")
