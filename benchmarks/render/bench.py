"""Render 500 services x 7 environments: a cold render, a no-op render (cache hit), a no-op
``--check`` (no cache), against ``kubectl kustomize`` of all the overlays that render wrote (one per
service and environment, and one per environment for what its services share).

Run: ``python -m benchmarks render`` (``--services=N`` to change the size).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPEC = """apiVersion: shipyard.dev/v1alpha1
kind: Platform
org: bench
domain: bench.example.com
registry:
  url: harbor.bench.example.com
environments:
  - name: perf
    cluster: staging
    strategy: rolling
    promotion: manual
    maturities: [beta]
    host: "{service}.perf.{domain}"
    upstream: uat
"""


def _monorepo(root: Path, services: int) -> None:
    root.mkdir(parents=True)
    # Render keeps its cache in the monorepo's git folder: without one, the no-op row would render again.
    subprocess.run(["git", "init", "--quiet", str(root)], check=True)
    (root / "shipyard.yaml").write_text(SPEC)
    for index in range(services):
        folder = root / "services" / f"svc-{index:04d}"
        folder.mkdir(parents=True)
        (folder / "Dockerfile").write_text("FROM scratch\n")


def _timed(args: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(args, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - started


def run(argv: list[str]) -> None:
    """Print the table; ratios are kubectl kustomize time over Shipyard's."""
    services = 500
    for arg in argv:
        if arg.startswith("--services="):
            services = int(arg.split("=", 1)[1])
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        sys.exit("kubectl is not installed (deps/apt-runtime.txt)")
    shipyard = [sys.executable, "-m", "shipyard"]
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-render-") as scratch:
        app, out = Path(scratch) / "app", Path(scratch) / "config"
        _monorepo(app, services)
        cold = _timed([*shipyard, "render", "--out", str(out)], app)
        noop = _timed([*shipyard, "render", "--out", str(out)], app)
        check = _timed([*shipyard, "render", "--out", str(out), "--check"], app)
        # Every overlay an Application builds; an environment's promotable Component is built only through them.
        overlays = sorted(
            p.parent for p in (out / "overlays").rglob("kustomization.yaml") if "kind: Component" not in p.read_text()
        )
        environments = sum(1 for p in (out / "overlays").iterdir() if p.is_dir())
        print(f"render: cold {cold:.2f}s, no-op {noop:.2f}s, --check {check:.2f}s", flush=True)
        kustomize = 0.0
        for overlay in overlays:
            kustomize += _timed([kubectl, "kustomize", str(overlay)], app)
        files = sum(1 for p in out.rglob("*") if p.is_file())
    print(f"{services} services x {environments} environments, {files} files rendered")
    print(f"| {'what':<44} | {'seconds':>8} | {'kustomize / this':>16} |")
    print(f"| {'-' * 44} | {'-' * 8} | {'-' * 16} |")
    for name, seconds in (
        ("shipyard render (cold, empty tree)", cold),
        ("shipyard render (no-op, cache hit)", noop),
        ("shipyard render --check (no-op, no cache)", check),
        (f"kubectl kustomize of all {len(overlays)} overlays", kustomize),
    ):
        print(f"| {name:<44} | {seconds:8.2f} | {kustomize / seconds:15.1f}x |")
