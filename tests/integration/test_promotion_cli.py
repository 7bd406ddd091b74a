"""The promotion commands as a user runs them, on a scaffolded platform (local config repo, local layout)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipyard.cli.main import main
from shipyard.git import Git, parse_trailers

pytestmark = pytest.mark.integration

A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64
ALPHA = "v1.2.0-alpha.20261125100000"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_freight_promote_status_trace_and_rollback(
    acme: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPYARD_APPROVER", "Dana")
    monkeypatch.setenv("COLUMNS", "200")
    root = ("--root", str(acme))
    code, out, _ = run(capsys, "freight", "add", "--version", ALPHA, "--image", f"user-service={A}", *root, "--json")
    assert code == 0 and json.loads(out)["freight"]["version"] == ALPHA
    code, _, err = run(capsys, "freight", "add", "--version", "v1.2.0-beta.1", "--image", "nope=" + A, *root)
    assert code == 2 and "no service 'nope'" in err
    code, _, err = run(capsys, "freight", "add", "--version", "v1.2.0-beta.1", "--from-registry", *root)
    assert code == 2 and "would be empty" in err  # no image carries that tag in the local layout yet
    run(capsys, "freight", "add", "--version", "v1.2.0-beta.1", "--image", f"user-service={B}", *root)

    code, out, _ = run(capsys, "promote", "--auto", *root, "--json")
    assert code == 0 and [m["stage"] for m in json.loads(out)["moves"]] == ["dev", "staging"]
    code, out, err = run(capsys, "promote", "--version", "v1.2.0-beta.1", "--to", "uat", *root, "--json")
    assert code == 1 and {g["gate"]: g["passed"] for g in json.loads(out)["gates"]}["approval"] is False
    code, out, _ = run(capsys, "promote", "--version", "v1.2.0-beta.1", "--to", "uat", "--approve", "--dry-run", *root)
    assert code == 0 and "overlays/uat/images/kustomization.yaml" in out
    code, out, _ = run(capsys, "promote", "--version", "v1.2.0-beta.1", "--to", "uat", "--approve", *root)
    assert code == 0 and "Promote v1.2.0-beta.1 to uat" in out
    config = Git(acme / ".shipyard" / "gitops-config.git")
    assert ("Shipyard-Approved-By", "Dana") in parse_trailers(config.run("log", "-1", "--format=%B", "main"))

    code, out, _ = run(capsys, "status", *root, "--json")
    board = json.loads(out)
    assert code == 0 and board["services"]["user-service"]["uat"]["version"] == "v1.2.0-beta.1"
    approval = board["pending"][0].pop("approval")
    assert (approval["policy"]["mode"], approval["approvedBy"], approval["missing"]) == ("open", [], 1)
    assert board["pending"] == [
        {
            "stage": "preprod",
            "version": "v1.2.0-beta.1",
            "freight": board["services"]["user-service"]["uat"]["freight"],
            "mode": "manual",
            "note": "waits for approval",
        }
    ]
    code, out, _ = run(capsys, "status", *root)
    assert code == 0 and "user-service" in out and "pending: v1.2.0-beta.1 -> preprod" in out
    code, out, _ = run(capsys, "trace", "user-service", "--env", "uat", *root)
    assert code == 0 and "promoted by Dana" in out and "path: uat" in out

    code, _, err = run(capsys, "promote", "--version", "v1.2.0-beta.1", "--to", "staging", *root)
    assert code == 1 and "staging takes alpha freight" in err
    code, _, err = run(capsys, "rollback", "--env", "uat", *root)
    assert code == 2 and "no earlier freight" in err
    code, _, err = run(capsys, "promote", "--to", "uat", *root)
    assert code == 2 and "exactly one of --freight ID or --version V" in err
