"""The ``shipyard preview`` commands as a user runs them, on a scaffolded workspace and its local config repo."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SHA = "0123456789abcdef0123456789abcdef01234567"


def shipyard(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shipyard", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def test_up_list_gc_down_through_the_cli(acme: Path) -> None:
    up = shipyard(acme, "preview", "up", "--pr", "42", "--sha", SHA, "--now", "2024-11-14T15:30:45Z", "--json")
    assert up.returncode == 0, up.stderr
    data = json.loads(up.stdout)
    assert data["namespace"] == "pr-42" and data["commit"] and data["createdAt"] == "2024-11-14T15:30:45Z"
    assert data["urls"]["payment-service"] == "https://pr-42-payment-service.preview.acme.example.com"

    text = shipyard(acme, "preview", "up", "--pr", "43", "--sha", SHA, "--services", "user-service")
    assert text.returncode == 0, text.stderr
    assert "user-service: https://pr-43-user-service.preview.acme.example.com" in text.stdout

    listing = shipyard(acme, "preview", "list", "--json", "--now", "2024-11-15T15:30:45Z")
    previews = json.loads(listing.stdout)["previews"]
    assert (previews[0]["name"], previews[0]["ageSeconds"]) == ("pr-42", 86400)
    assert [p["name"] for p in previews] == ["pr-42", "pr-43"]

    dry = shipyard(acme, "preview", "gc", "--now", "2024-11-22T00:00:00Z", "--dry-run", "--json")
    assert [d["name"] for d in json.loads(dry.stdout)["delete"]] == ["pr-42"]
    gc = shipyard(acme, "preview", "gc", "--now", "2024-11-22T00:00:00Z")
    assert gc.returncode == 0 and "delete  previews/pr-42" in gc.stdout

    down = shipyard(acme, "preview", "down", "--pr", "43", "--json")
    assert down.returncode == 0 and json.loads(down.stdout)["commit"]
    assert "no previews" in shipyard(acme, "preview", "list").stdout


def test_a_preview_runs_only_the_services_ci_built(acme: Path, tmp_path: Path) -> None:
    built = tmp_path / "affected.json"
    built.write_text('["user-service"]')
    up = shipyard(acme, "preview", "up", "--pr", "9", "--sha", SHA, "--services-file", str(built), "--json")
    assert up.returncode == 0, up.stderr
    assert list(json.loads(up.stdout)["urls"]) == ["user-service"]

    # A later commit of the pull request that affects no service: nothing was built, so nothing may run.
    built.write_text("[]")
    none = shipyard(acme, "preview", "up", "--pr", "9", "--sha", SHA[::-1], "--services-file", str(built), "--json")
    assert none.returncode == 0, none.stderr
    data = json.loads(none.stdout)
    assert data["urls"] == {} and data["commit"]
    assert [a["op"] for a in data["plan"]["actions"]] == ["delete", "commit", "push"]
    assert "no previews" in shipyard(acme, "preview", "list").stdout
    again = shipyard(acme, "preview", "up", "--pr", "9", "--sha", SHA[::-1], "--services-file", str(built), "--json")
    assert json.loads(again.stdout)["commit"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["up", "--pr", "1", "--sha", "not-a-sha"], "not a commit id"),
        (["up", "--pr", "1", "--sha", SHA, "--services", "billing-service"], "valid: notification-service"),
        (["up", "--pr", "0", "--sha", SHA], "not a pull request number"),
        (["up", "--pr", "1", "--sha", SHA, "--services-file", "/nonexistent.json"], "cannot be read as JSON"),
        (["gc", "--now", "2024-11-22"], "RFC 3339"),
        (["gc", "--delete-orphans"], "need --cluster"),
        (["list", "--config-repo", "/nonexistent/config.git"], "does not exist"),
    ],
)
def test_bad_input_exits_2_with_a_message(acme: Path, args: list[str], message: str) -> None:
    proc = shipyard(acme, "preview", *args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
