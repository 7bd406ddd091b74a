"""``shipyard serve`` under a burst of signed deliveries on loopback (200 a second for 5 s; the benchmark runs
30 s): every delivery answered 202 is processed, and none twice. Counts only: timings are the benchmark's."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from benchmarks.serve.load import send_at_rate
from tests.serveparts import SECRET, start_serve

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_a_burst_of_deliveries_is_processed_once_each(acme: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(SECRET)
    server = start_serve(acme, "--mode", "cluster", "--webhook-secret-file", str(secret))
    try:
        load = send_at_rate(f"{server.url}/hooks/github", SECRET, rate=200, seconds=5)
        assert load.errors == 0 and load.accepted == len(load.statuses) == 1000
        server.wait_done(1000, timeout=300)
    finally:
        server.stop()
    state = acme / ".shipyard" / "serve"
    done = Counter(json.loads(p.read_bytes())["id"] for p in (state / "queue" / "done").glob("*.json"))
    assert set(done) == set(load.ids) and set(done.values()) == {1}
    started = Counter(
        e["name"] for e in map(json.loads, (state / "events.jsonl").read_text().splitlines()) if e["kind"] == "started"
    )
    assert len(started) == 1000 and set(started.values()) == {1}
