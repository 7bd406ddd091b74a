"""The small `shipyard ci` commands the rendered steps call, run as the steps run them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def _ci(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shipyard", "ci", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def test_render_writes_then_checks(acme: Path) -> None:
    first = _ci(acme, "render")
    assert first.returncode == 0, first.stderr
    assert (acme / "tekton" / "triggers" / "event-listener.yaml").is_file()
    assert _ci(acme, "render", "--check").returncode == 0
    (acme / "tekton" / "rbac.yaml").write_text("# edited by hand\n")
    stale = _ci(acme, "render", "--check")
    assert stale.returncode == 1
    assert stale.stdout.splitlines() == ["update  tekton/rbac.yaml"]
    assert f"update  {acme / 'tekton' / 'rbac.yaml'}" in _ci(acme, "render", "--dry-run").stdout


def test_services_batches_and_batch(acme: Path, tmp_path: Path) -> None:
    assert _ci(acme, "services").stdout.split() == ["notification-service", "payment-service", "user-service"]
    affected = tmp_path / "affected.json"
    affected.write_text('["user-service", "payment-service"]')
    unaffected = _ci(acme, "services", "--unaffected", str(affected))
    assert unaffected.stdout.split() == ["notification-service"]
    result = tmp_path / "result"
    split = _ci(
        acme,
        "batches",
        str(affected),
        "--max-batches",
        "2",
        "--output",
        str(tmp_path / "b.json"),
        "--result",
        str(result),
    )
    assert split.returncode == 0, split.stderr
    assert json.loads(result.read_text()) == ["0", "1"]
    assert _ci(acme, "batch", str(tmp_path / "b.json"), "--index", "1").stdout.split() == ["payment-service"]
    assert _ci(acme, "batch", str(tmp_path / "b.json"), "--index", "5").returncode == 2
