"""``shipyard scan gate`` as a user runs it: exit codes 0/1/2, the output formats."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from tests.realparts import need_reference


def _gate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shipyard", "scan", "gate", *args], capture_output=True, text=True, check=False
    )


def test_exit_codes_and_formats(tmp_path: Path) -> None:
    trivy = need_reference("trivy")
    failing = _gate(str(trivy / "debian-buster.json"), "--format", "json")
    assert failing.returncode == 1, failing.stderr
    data = json.loads(failing.stdout)
    assert data["passed"] is False
    assert data["totals"]["CRITICAL"] == 1
    assert data["blocking"][0]["id"] == "CVE-2019-18224"
    assert data["ignoreUnfixed"] is False and data["expiredAllowlistEntries"] == []
    as_yaml = _gate(str(trivy / "debian-buster.json"), "-o", "yaml")
    assert as_yaml.returncode == 1 and yaml.safe_load(as_yaml.stdout) == data
    assert json.loads(_gate(str(trivy / "debian-buster.json"), "--json").stdout) == data
    assert _gate(str(trivy / "debian-buster.json"), "--json", "-o", "markdown").returncode == 2

    passing = _gate(str(trivy / "debian-buster.json"), "--threshold", "critical", "--ignore-unfixed")
    assert passing.returncode == 1  # the critical one has a fix: ignoring unfixed does not hide it

    allow = tmp_path / "allow.yaml"
    allow.write_text("- id: CVE-2019-18224\n  reason: not reachable\n  expires: 2999-01-01\n")
    accepted = _gate(str(trivy / "debian-buster.json"), "--allowlist", str(allow), "-o", "markdown")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert accepted.stdout.startswith("### ✅ Vulnerability gate passed")
    # --format is the option's older name, kept for pipelines rendered before -o.
    assert _gate(str(trivy / "debian-buster.json"), "--allowlist", str(allow), "--format", "markdown").stdout == (
        accepted.stdout
    )

    unsupported = _gate(str(trivy / "julia-spdx.json"))
    assert unsupported.returncode == 2
    assert "SPDX" in unsupported.stderr
    assert "Traceback" not in unsupported.stderr

    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    assert _gate(str(trivy / "alpine-39-skip.json"), str(empty)).returncode == 2  # one bad report spoils the run
