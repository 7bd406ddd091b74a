"""The foundation's commands as a user runs them: init, check, branch check, and the error paths."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.realparts import need_binary

pytestmark = pytest.mark.integration


def shipyard(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shipyard", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def test_init_scaffolds_a_git_repo_with_main_and_develop(tmp_path: Path) -> None:
    git = need_binary("git")
    result = shipyard("init", "acme", "--org", "acme", "--domain", "acme.example.com", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    repo = tmp_path / "acme"
    branches = subprocess.run(
        [git, "-C", str(repo), "branch", "--format=%(refname:short)"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert branches == ["develop", "main"]
    status = subprocess.run(
        [git, "-C", str(repo), "status", "--porcelain"], capture_output=True, text=True, check=True
    ).stdout
    assert status == ""  # everything scaffolded is committed; .shipyard/ is ignored
    bare = subprocess.run(
        [git, "-C", str(repo / ".shipyard/gitops-config.git"), "rev-parse", "--is-bare-repository"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert bare == "true"
    assert json.loads((repo / ".shipyard/registry/oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    root_manifest = json.loads((repo / "package.json").read_text())
    assert root_manifest["workspaces"] == ["packages/*", "services/*"]
    assert json.loads((repo / "packages/utils/package.json").read_text())["dependencies"] == {"@acme/common-types": "*"}


def test_init_with_registry_writes_a_harbor_spec(tmp_path: Path) -> None:
    result = shipyard(
        "init",
        "x",
        "--org",
        "acme",
        "--domain",
        "acme.example.com",
        "--registry",
        "harbor.acme.example.com",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    spec = (tmp_path / "x" / "shipyard.yaml").read_text()
    assert "kind: harbor" in spec and "url: harbor.acme.example.com" in spec
    assert not (tmp_path / "x" / ".shipyard").exists()


def test_init_dry_run_changes_nothing_and_prints_json(tmp_path: Path) -> None:
    result = shipyard(
        "init", "acme", "--org", "acme", "--domain", "acme.example.com", "--dry-run", "--json", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["command"] == "shipyard init"
    assert {"op": "create", "target": "shipyard.yaml", "summary": "the platform spec", "details": {}} in plan["actions"]
    assert not (tmp_path / "acme").exists()


def test_init_refuses_a_non_empty_folder_and_bad_names(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    result = shipyard("init", "full", "--org", "acme", "--domain", "acme.example.com", cwd=tmp_path)
    assert result.returncode == 2 and "not empty" in result.stderr and "Traceback" not in result.stderr
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"
    result = shipyard("init", "y", "--org", "Acme Corp", "--domain", "acme.example.com", cwd=tmp_path)
    assert result.returncode == 2 and "DNS label" in result.stderr


def test_check_summarises_and_json_is_stable(acme: Path) -> None:
    result = shipyard("check", "--json", cwd=acme / "services" / "user-service")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["services"] == ["notification-service", "payment-service", "user-service"]
    assert summary["packages"] == ["api-client", "common-types", "utils"]
    assert len(summary["edges"]) == 8
    assert [e["name"] for e in summary["environments"]] == ["dev", "staging", "uat", "preprod", "production", "sandbox"]
    text = shipyard("check", cwd=acme)
    assert text.returncode == 0 and "3 services, 3 packages, 8 dependency edges, 6 environments" in text.stdout


def test_check_reports_spec_errors_with_position(acme: Path) -> None:
    spec = acme / "shipyard.yaml"
    spec.write_text(spec.read_text() + "previw:\n  ttl: 3d\n")
    result = shipyard("check", cwd=acme)
    assert result.returncode == 2
    assert "shipyard.yaml:12:1: previw: unknown key 'previw' (did you mean 'preview'?)" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("entries", "field", "message"),
    [
        (
            "  - {name: dev, upstream: staging}\n",
            "environments[0].upstream",
            "upstreams go round in a cycle: dev -> staging -> dev",
        ),
        (
            "  - {name: uat, upstream: production}\n",
            "environments[0].upstream",
            "upstreams go round in a cycle: uat -> production -> preprod -> uat",
        ),
        ("  - {name: qa, upstream: qa}\n", "environments[0].upstream", "environment 'qa' is its own upstream"),
        (
            "  - {name: dev, maturities: [beta]}\n",
            "environments[0].maturities",
            "environment 'staging' accepts alpha but its upstream 'dev' holds beta freight",
        ),
    ],
)
def test_check_reports_stage_graph_errors_at_the_field(acme: Path, entries: str, field: str, message: str) -> None:
    spec = acme / "shipyard.yaml"
    text = spec.read_text() + "environments:\n"
    spec.write_text(text + entries)
    result = shipyard("check", cwd=acme)
    line = text.count("\n") + 1
    assert result.returncode == 2, result.stdout
    assert f"shipyard.yaml:{line}:" in result.stderr and f": {field}: {message}" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_reports_workspace_cycles(acme: Path) -> None:
    manifest_path = acme / "packages" / "common-types" / "package.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["dependencies"] = {"@acme/api-client": "*"}
    manifest_path.write_text(json.dumps(manifest))
    result = shipyard("check", cwd=acme)
    assert result.returncode == 2 and "dependency cycle: api-client -> common-types -> api-client" in result.stderr


def test_branch_check_exit_codes_and_json(acme: Path) -> None:
    ok = shipyard("branch", "check", "feature/payment-service-refunds", "--target", "develop", "--json", cwd=acme)
    assert ok.returncode == 0
    assert json.loads(ok.stdout) == {
        "kind": "feature",
        "name": "feature/payment-service-refunds",
        "project": "payment-service",
        "target": "develop",
        "valid": True,
    }
    bad = shipyard("branch", "check", "feature/payments-refunds", cwd=acme)
    assert bad.returncode == 1 and "does not name a project" in bad.stderr
    wrong_target = shipyard("branch", "check", "release/v1.0.0", "--target", "develop", cwd=acme)
    assert wrong_target.returncode == 1 and "merge into main" in wrong_target.stderr


def test_version_and_help(tmp_path: Path) -> None:
    result = shipyard("--version", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("shipyard ")
    helped = shipyard("--help", cwd=tmp_path)
    assert helped.returncode == 0
    for command in ("init", "check", "branch", "demo"):
        assert command in helped.stdout
    unknown = shipyard("frobnicate", cwd=tmp_path)
    assert unknown.returncode == 2


def test_check_refuses_overrides_for_unknown_services(acme: Path) -> None:
    spec = acme / "shipyard.yaml"
    spec.write_text(spec.read_text() + "services:\n  user-servce:\n    port: 9000\n")
    result = shipyard("check", cwd=acme)
    assert result.returncode == 2
    assert (
        "shipyard.yaml:13:3: services.user-servce: no service 'user-servce' in services/ (did you mean 'user-service'?)"
        in (result.stderr)
    )
