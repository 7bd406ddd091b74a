"""What ``ci run`` shows: progress lines per step and task (plain text when not on a terminal), the end of a
failed step's log, and the summary table."""

from __future__ import annotations

import io
from pathlib import Path

from shipyard.ci.run import RunRequest, execute, make_plan
from shipyard.cli.ci_run_view import ProgressView, plan_text, summary
from tests.unit.test_ci_run_engine import load, pipeline, worker


def test_progress_and_summary(tmp_path: Path) -> None:
    catalog = load(
        tmp_path,
        pipeline(
            worker("build"),
            worker("skipped", "when: [{input: a, operator: in, values: [b]}]"),
            worker("broken", "runAfter: [build]", exit="4"),
            final=(worker("report"),),
        ),
    )
    plan = make_plan(catalog, RunRequest("r", "p", {}, {"ws": "volumeClaimTemplate"}), tmp_path / "w", {}, "u")
    stream = io.StringIO()
    view = ProgressView(stream, live=False)
    record = execute(plan, view)
    view.close()
    lines = stream.getvalue().splitlines()
    assert lines[0] == "PipelineRun r (Pipeline p)"
    assert "    1. build, skipped" in lines and "    2. broken" in lines
    assert "  note: image docker.io/library/alpine:3.20: using this machine's tools" in lines
    assert "  build › work: Succeeded" in "\n".join(lines)
    assert "  skipped: Skipped (When Expressions evaluated to false)" in lines
    assert any(line.startswith("  broken › work: Failed") for line in lines)
    assert any(line.startswith("    log: ") and line.endswith("work.log") for line in lines)
    assert lines[-1].startswith("PipelineRun r: Failed (Failed: Tasks Completed: 3 (Failed: 1, Cancelled 0)")
    table = summary([record]).splitlines()
    assert table[0].startswith("r  Failed")
    assert [row.split()[:2] for row in table[2:6]] == [
        ["build", "Succeeded"],
        ["skipped", "Skipped"],
        ["broken", "Failed"],
        ["report", "(finally)"],
    ]
    assert "  1. build, skipped" in plan_text([plan])
