"""The vulnerability gate before a manual stage, on real git repositories and a stand-in for Harbor.

No Harbor can run here (it needs a Docker engine and many services): the reports come from the stand-in
in tests/standins/harbor.py, which checks every request against Harbor's own API description
(../shared/reference/harbor/swagger.yaml). The reports it holds are built from real Trivy reports
(../shared/reference/trivy/), in the shape Harbor's Trivy adapter stores them.
"""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path
from typing import Any

import pytest

from shipyard.promotion.executor import promote, promote_auto
from shipyard.promotion.gates import GateRefused
from shipyard.promotion.ledger import read_ledger
from shipyard.promotion.tags import StoreTags
from shipyard.spec.loader import parse_spec
from shipyard.spec.model import Platform
from tests.integration import test_harbor_apply, test_promotion_scenarios
from tests.integration.test_promotion_cli import run
from tests.realparts import need_reference
from tests.standins.harbor import HarborStandin

pytestmark = pytest.mark.integration

# The promotion scenarios' bare config remote and local layout, and the Harbor stand-in, shared not copied.
remote = test_promotion_scenarios.remote
layout = test_promotion_scenarios.layout
platform = test_promotion_scenarios.platform
swagger = test_harbor_apply.swagger
harbor = test_harbor_apply.harbor
ALPHA, BETA1 = test_promotion_scenarios.ALPHA, test_promotion_scenarios.BETA1
add, digest, refused = test_promotion_scenarios.add, test_promotion_scenarios.digest, test_promotion_scenarios.refused

MIME = "application/vnd.security.vulnerability.report; version=1.1"


def harbor_platform(url: str, threshold: str = "high") -> Platform:
    return parse_spec(
        "apiVersion: shipyard.dev/v1alpha1\nkind: Platform\norg: acme\ndomain: acme.example.com\n"
        f"registry: {{kind: harbor, url: '{url}', scan: {{severityThreshold: {threshold}}}}}\n"
    )


def from_trivy(name: str, repository: str, image_digest: str) -> dict[str, Any]:
    """The vulnerabilities addition Harbor serves for an artifact its Trivy adapter scanned: a real Trivy report."""
    trivy = json.loads(need_reference("trivy", name).read_text())
    vulnerabilities = [
        {
            "id": v["VulnerabilityID"],
            "package": v.get("PkgName", ""),
            "version": v.get("InstalledVersion", ""),
            "fix_version": v.get("FixedVersion", ""),
            "severity": str(v.get("Severity", "UNKNOWN")).capitalize(),
            "description": v.get("Description", ""),
        }
        for result in trivy.get("Results") or []
        for v in result.get("Vulnerabilities") or []
    ]
    return {
        MIME: {
            "generated_at": "2026-11-25T00:00:00Z",
            "artifact": {"repository": repository, "digest": image_digest},
            "scanner": {"name": "Trivy", "vendor": "Aqua Security", "version": "v0.58.0"},
            "vulnerabilities": vulnerabilities,
        }
    }


def scanned(standin: HarborStandin, version: str, reports: dict[str, str]) -> None:
    """Harbor holds a report (a Trivy reference file) for each service's digest of ``version``."""
    for service, name in reports.items():
        image_digest = digest(f"{service}@{version}")
        standin.state.vulnerabilities[("services", service, image_digest)] = from_trivy(
            name, f"services/{service}", image_digest
        )


class NoTagsAsked:
    """The tag lookup for stages before production: only production's stable-tag gate asks which digest a tag
    names, so any question here is a failure of the test."""

    def digest_of(self, image: str, tag: str) -> str | None:
        raise AssertionError(f"a stage before production asked the registry for {image}:{tag}")


NO_TAGS = NoTagsAsked()


def vuln_gate(gates: list[Any]) -> Any:
    return next(g for g in gates if g.name == "vulnerabilities")


def test_clean_reports_let_the_promotion_proceed(remote: str, harbor: HarborStandin) -> None:
    spec = harbor_platform(harbor.url)
    add(spec, remote, BETA1)
    # alpine-310: four MEDIUM findings, below the HIGH threshold; alpine-39-skip: none at all.
    scanned(harbor, BETA1, {"api": "alpine-310.json", "web": "alpine-39-skip.json"})
    outcome = promote(spec, remote, "uat", NO_TAGS, version=BETA1, approve=True, approver="alice")
    gate = vuln_gate(outcome.moves[0].gates)
    assert gate.passed and "no finding at or above HIGH in 2 digest(s)" in gate.reason
    assert outcome.moves[0].commit is not None and read_ledger(remote).current("uat") is not None
    asked = [path for method, path in harbor.requests if method == "GET"]
    assert asked == [
        f"/api/v2.0/projects/services/repositories/{s}/artifacts/{digest(f'{s}@{BETA1}')}/additions/vulnerabilities"
        for s in ("api", "web")
    ]
    assert harbor.violations == []


def test_high_or_critical_blocks_with_service_digest_and_counts(remote: str, harbor: HarborStandin) -> None:
    spec = harbor_platform(harbor.url)
    add(spec, remote, BETA1)
    scanned(harbor, BETA1, {"api": "alpine-310.json", "web": "fluentd-gems.json"})
    with pytest.raises(GateRefused) as blocked:
        promote(spec, remote, "uat", NO_TAGS, version=BETA1, approve=True, approver="alice")
    assert refused(blocked) == {"maturity": True, "upstream": True, "approval": True, "vulnerabilities": False}
    reason = vuln_gate(blocked.value.gates).reason
    assert f"web {digest(f'web@{BETA1}')[:19]}" in reason and "CRITICAL 1, HIGH 1" in reason
    assert "api" not in reason.split(":", 1)[1]  # the clean service is not named
    assert read_ledger(remote).moves("uat") == []  # nothing was committed
    with pytest.raises(GateRefused, match="web"):  # a dry run checks the same gate
        promote(spec, remote, "uat", NO_TAGS, version=BETA1, approve=True, approver="alice", dry_run=True)
    assert harbor.violations == []


def test_the_threshold_comes_from_the_spec(remote: str, harbor: HarborStandin) -> None:
    spec = harbor_platform(harbor.url, threshold="critical")
    add(spec, remote, BETA1)
    scanned(harbor, BETA1, {"api": "composer.lock.json", "web": "alpine-310.json"})  # one HIGH: below CRITICAL
    outcome = promote(spec, remote, "uat", NO_TAGS, version=BETA1, approve=True, approver="alice")
    assert vuln_gate(outcome.moves[0].gates).passed
    scanned(harbor, BETA1, {"api": "debian-buster.json"})  # the same digest, re-scanned: a CRITICAL appeared
    with pytest.raises(GateRefused, match=r"api sha256:\w+ has findings at or above CRITICAL \(CRITICAL 1, LOW 1\)"):
        promote(spec, remote, "preprod", NO_TAGS, version=BETA1, approve=True, approver="alice")


def test_not_scanned_blocks_never_passes(remote: str, harbor: HarborStandin) -> None:
    spec = harbor_platform(harbor.url)
    add(spec, remote, BETA1)
    scanned(harbor, BETA1, {"api": "alpine-310.json"})  # Harbor answers {} for web
    with pytest.raises(GateRefused) as blocked:
        promote(spec, remote, "uat", NO_TAGS, version=BETA1, approve=True, approver="alice")
    reason = vuln_gate(blocked.value.gates).reason
    assert f"web {digest(f'web@{BETA1}')[:19]} has not been scanned" in reason and "api" not in reason
    assert read_ledger(remote).moves("uat") == []


@pytest.mark.parametrize(
    ("served", "why"),
    [
        # The same finding twice under one key: which severity counts is not defined.
        (b'{"%s": {"vulnerabilities": [{"id": "CVE-1", "severity": "Critical", "severity": "Low"}]}}', "appears twice"),
        (b'{"%s": {"severity": "Critical", "vulnerabilities": null}}', "has not been scanned"),
        (b'{"%s": {"severity": "Critical", "vulnerabilities": []}}', "findings are missing"),
        (b'{"%s": {"vulnerabilities": [{"id": "CVE-1", "severity": "Severe"}]}}', "not a severity"),
        (b'{"%s": {"vulnerabilities": [{"id": "CVE-1"}]}}', "missing, not a severity"),
        (b'{"%s": {"vulnerabilities": [{"id": "CVE-1", "severity": "Low"}]}, "x": 1}', "has not been scanned|MIME"),
        (b"[]", "expected a JSON object"),
    ],
)
def test_a_report_harbor_serves_that_is_not_understood_blocks(
    remote: str, harbor: HarborStandin, served: bytes, why: str
) -> None:
    spec = harbor_platform(harbor.url)
    add(spec, remote, BETA1)
    scanned(harbor, BETA1, {"api": "alpine-310.json"})
    body = served.replace(b"%s", MIME.encode())
    harbor.state.vulnerabilities[("services", "web", digest(f"web@{BETA1}"))] = body  # type: ignore[assignment]
    with pytest.raises(GateRefused) as blocked:
        promote(spec, remote, "uat", NO_TAGS, version=BETA1, approve=True, approver="alice")
    reason = vuln_gate(blocked.value.gates).reason
    assert re.search(why, reason), reason
    assert read_ledger(remote).moves("uat") == []


def test_unreachable_harbor_blocks(remote: str) -> None:
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    spec = harbor_platform(f"http://127.0.0.1:{port}")
    add(spec, remote, BETA1)
    with pytest.raises(GateRefused, match=r"could not read the vulnerability reports: Harbor at .* is unreachable"):
        promote(spec, remote, "uat", NO_TAGS, version=BETA1, approve=True, approver="alice")


def test_auto_stages_are_not_rechecked(remote: str, harbor: HarborStandin) -> None:
    spec = harbor_platform(harbor.url)
    add(spec, remote, ALPHA)  # Harbor has no report of these digests: a check would block
    outcome = promote(spec, remote, "dev", NO_TAGS, version=ALPHA)
    assert [g.name for g in outcome.moves[0].gates] == ["maturity", "upstream", "approval"]
    assert [m.stage for m in promote_auto(spec, remote, NO_TAGS).moves] == ["staging"]
    assert harbor.requests == []


def test_a_registry_that_does_not_scan_is_not_checked(platform: Platform, remote: str, layout: StoreTags) -> None:
    add(platform, remote, BETA1)
    outcome = promote(platform, remote, "uat", layout, version=BETA1, approve=True, approver="alice", dry_run=True)
    gates = outcome.to_json()["moves"][0]["gates"]  # type: ignore[index]
    assert {
        "gate": "vulnerabilities",
        "passed": True,
        "reason": "not checked: registry does not scan (registry.kind: local)",
    } in gates


def test_cli_refuses_an_unscanned_digest_then_promotes_once_it_is_clean(
    acme: Path, harbor: HarborStandin, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = acme / "shipyard.yaml"
    local = "  kind: local\n  url: .shipyard/registry\n"
    assert local in spec.read_text()
    spec.write_text(spec.read_text().replace(local, f"  kind: harbor\n  url: {harbor.url}\n"))
    monkeypatch.setenv("SHIPYARD_APPROVER", "Dana")
    root = ("--root", str(acme))
    image_digest = "sha256:" + "c" * 64
    run(capsys, "freight", "add", "--version", BETA1, "--image", f"user-service={image_digest}", *root)
    promote_uat = ("promote", "--version", BETA1, "--to", "uat", "--approve", *root)
    code, out, _ = run(capsys, *promote_uat, "--json")
    gates = {g["gate"]: g for g in json.loads(out)["gates"]}
    assert code == 1 and "user-service sha256:cccc" in gates["vulnerabilities"]["reason"]
    assert "has not been scanned" in gates["vulnerabilities"]["reason"]
    code, _, err = run(capsys, *promote_uat)
    assert code == 1 and "NO  vulnerabilities: uat takes no freight with unresolved findings" in err
    harbor.state.vulnerabilities[("services", "user-service", image_digest)] = from_trivy(
        "alpine-310.json", "services/user-service", image_digest
    )
    code, out, err = run(capsys, *promote_uat)
    assert code == 0 and "ok  vulnerabilities: no finding at or above HIGH in 1 digest(s)" in err
    assert f"Promote {BETA1} to uat" in out
    assert harbor.violations == []
