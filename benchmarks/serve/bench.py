"""``shipyard serve`` under load: signed GitHub deliveries at a fixed rate (default 200 a second for 30 s) on
loopback, against a minimal Starlette endpoint on uvicorn that only checks the HMAC (the floor: what any
receiver of signed webhooks pays). Goal: none lost, each processed once, answers within GitHub's 10 s.

serve runs in cluster mode without an EventListener (record-only: every delivery is verified, validated,
written and synced to its queue file, recorded in the event log and moved to done/), so the pipeline side
costs nothing here and no stub is needed. After the load, the benchmark waits for the queue to drain and
counts, from the queue's own files, deliveries lost (answered 202 and never done) and done twice.

Run: ``python -m benchmarks serve`` (``--rate=N``, ``--seconds=N``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from benchmarks.serve.load import Load, percentile, send_at_rate

SECRET = b"bench-webhook-secret"


def _start(command: list[str], cwd: Path, port: int, ready: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.request(ready.split()[0], f"http://127.0.0.1:{port}{ready.split()[1]}", timeout=2).status_code:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"{command[:4]} did not start")


def _port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _row(name: str, load: Load, rate: float) -> str:
    p50, p99 = percentile(load.latencies, 0.5) * 1000, percentile(load.latencies, 0.99) * 1000
    return (
        f"{name:<16} {len(load.statuses):>6} sent  {load.accepted:>6} accepted  {load.errors:>3} errors  "
        f"{load.accepted / load.seconds:>7.1f}/s (asked {rate:.0f}/s)  p50 {p50:6.2f} ms  p99 {p99:7.2f} ms"
    )


def run(argv: list[str]) -> None:
    options = dict(a.removeprefix("--").split("=", 1) for a in argv if "=" in a)
    rate, seconds = float(options.get("rate", 200)), float(options.get("seconds", 30))
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-serve-") as scratch:
        root = Path(scratch)
        secret = root / "secret"
        secret.write_bytes(SECRET)
        env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull}
        subprocess.run(
            [sys.executable, "-m", "shipyard", "init", "acme", "--org", "acme", "--domain", "acme.example.com"],
            cwd=root, check=True, capture_output=True, env=env,
        )  # fmt: skip
        floor_port, serve_port = _port(), _port()
        floor = _start(
            [sys.executable, "-m", "benchmarks.serve.floor", str(floor_port), str(secret)],
            Path(__file__).resolve().parents[2],
            floor_port,
            "GET /",
        )
        try:
            floor_load = send_at_rate(f"http://127.0.0.1:{floor_port}/hooks/github", SECRET, rate, seconds)
        finally:
            floor.terminate()
            floor.wait(30)
        command = [sys.executable, "-m", "shipyard", "serve", "--port", str(serve_port), "--mode", "cluster"]
        command += ["--webhook-secret-file", str(secret)]
        serve = _start(command, root / "acme", serve_port, "GET /readyz")
        try:
            serve_load = send_at_rate(f"http://127.0.0.1:{serve_port}/hooks/github", SECRET, rate, seconds)
            sent_done = time.perf_counter()
            done_dir = root / "acme" / ".shipyard" / "serve" / "queue" / "done"
            while len(list(done_dir.glob("*.json"))) < serve_load.accepted and time.perf_counter() - sent_done < 120:
                time.sleep(0.2)
            drain = time.perf_counter() - sent_done
        finally:
            serve.terminate()
            serve.wait(30)
        done = Counter(json.loads(p.read_bytes())["id"] for p in done_dir.glob("*.json"))
        log = (root / "acme" / ".shipyard" / "serve" / "events.jsonl").read_text().splitlines()
        started = Counter(e["name"] for e in map(json.loads, log) if e["kind"] == "started")
    lost = len(set(serve_load.ids) - set(done))
    twice = sum(1 for n in done.values() if n > 1) + sum(1 for n in started.values() if n > 1)
    print(f"{rate:.0f} signed deliveries a second for {seconds:.0f} s, on loopback")
    print(_row("HMAC-only floor", floor_load, rate))
    print(_row("shipyard serve", serve_load, rate))
    ratio50 = percentile(serve_load.latencies, 0.5) / percentile(floor_load.latencies, 0.5)
    ratio99 = percentile(serve_load.latencies, 0.99) / percentile(floor_load.latencies, 0.99)
    print(f"latency ratio serve/floor: p50 {ratio50:.1f}x, p99 {ratio99:.1f}x")
    print(f"queue drained {drain:.1f} s after the last send; lost {lost}, processed twice {twice}")
