"""The vulnerability gate on the real Trivy reports of ../shared/reference/trivy/ and on Harbor-shaped reports.

Expected counts are computed here by a separate, naive traversal of the JSON (``_walk``, a tiny jq), not by the
parser under test, and a few are hard-coded after checking them by hand.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipyard.scan import ScanInputError, Severity, evaluate, load_allowlist, load_report
from shipyard.scan.parse import parse_report
from shipyard.scan.summary import format_markdown, format_text
from tests.realparts import REFERENCE, need_reference

TODAY = dt.date(2026, 6, 1)


def _walk(data: Any, path: str) -> list[Any]:
    """A minimal jq: ``Results[].Vulnerabilities[].Severity`` -> every value at that path."""
    values = [data]
    for part in path.split("."):
        step: list[Any] = []
        for value in values:
            if part.endswith("[]"):
                items = value.get(part[:-2]) if isinstance(value, dict) else None
                step.extend(items or [])
            elif isinstance(value, dict) and part in value:
                step.append(value[part])
        values = step
    return values


def _trivy_reports(*, scanned: bool = True) -> list[Path]:
    """Trivy's reports with (or, ``scanned=False``, without) a result of its vulnerability scanner."""
    # Collection must not skip the module when the folder is absent: the tests that need it skip themselves.
    found = []
    for path in sorted((REFERENCE / "trivy").glob("*.json")):
        data = json.loads(path.read_text())
        if data.get("SchemaVersion") == 2:
            classes = set(_walk(data, "Results[].Class"))
            if bool(classes & {"os-pkgs", "lang-pkgs"}) == scanned:
                found.append(path)
    return found


def _unsupported_reports() -> list[Path]:
    return sorted(p for p in (REFERENCE / "trivy").glob("*.json") if "SchemaVersion" not in json.loads(p.read_text()))


def test_reference_folder_has_reports_of_both_kinds() -> None:
    need_reference("trivy")
    assert len(_trivy_reports()) >= 40
    assert len(_trivy_reports(scanned=False)) >= 5
    assert {p.name for p in _unsupported_reports()} >= {"julia-spdx.json", "pom-cyclonedx.json"}


@pytest.mark.parametrize("name", [p.name for p in _trivy_reports()])
def test_counts_per_severity_match_an_independent_traversal(name: str) -> None:
    path = need_reference("trivy", name)
    data = json.loads(path.read_text())
    expected = Counter(_walk(data, "Results[].Vulnerabilities[].Severity"))
    result = evaluate([load_report(path)], today=TODAY)
    got = {s.label: n for s, n in result.totals.items() if n}
    assert got == dict(expected)
    per_target = [t.target for t in result.targets]
    assert per_target == [r.get("Target") or "(unnamed)" for r in _walk(data, "Results[]")]
    high_or_worse = expected["HIGH"] + expected["CRITICAL"]
    assert result.passed == (high_or_worse == 0)


@pytest.mark.parametrize(
    ("name", "counts"),
    [
        # Checked by hand against the files.
        ("ubuntu-1804.json", {"MEDIUM": 4, "LOW": 1}),
        ("debian-buster.json", {"CRITICAL": 1, "LOW": 1}),
        ("gomod.json", {"UNKNOWN": 4, "MEDIUM": 1}),
        ("alpine-distroless.json", {"MEDIUM": 1}),
    ],
)
def test_hand_checked_counts(name: str, counts: dict[str, int]) -> None:
    result = evaluate([load_report(need_reference("trivy", name))], today=TODAY)
    assert {s.label: n for s, n in result.totals.items() if n} == counts


@pytest.mark.parametrize(
    "pair", [("ubuntu-1804", "ubuntu-1804-ignore-unfixed"), ("debian-buster", "debian-buster-ignore-unfixed")]
)
def test_ignore_unfixed_agrees_with_trivys_own_output(pair: tuple[str, str]) -> None:
    # Trivy wrote the second file from the same image with --ignore-unfixed: our filter must give its counts.
    full, trivy_filtered = (load_report(need_reference("trivy", f"{n}.json")) for n in pair)
    ours = evaluate([full], ignore_unfixed=True, today=TODAY)
    theirs = evaluate([trivy_filtered], today=TODAY)
    assert ours.totals == theirs.totals
    assert ours.ignored_unfixed > 0


@pytest.mark.parametrize("name", [p.name for p in _trivy_reports(scanned=False)])
def test_a_report_without_vulnerability_results_is_not_scanned(name: str) -> None:
    # alpine-39-skip: Trivy did not detect the OS; dockerfile, secrets, ...: other scanners only.
    with pytest.raises(ScanInputError, match=r"no Results|no vulnerability scan"):
        load_report(need_reference("trivy", name))


def test_a_clean_report_passes(tmp_path: Path) -> None:
    path = tmp_path / "clean.json"
    results = [{"Target": "alpine:3.20 (alpine 3.20.3)", "Class": "os-pkgs", "Type": "alpine"}]
    path.write_text(
        json.dumps({"SchemaVersion": 2, "ArtifactName": "x", "ArtifactType": "container_image", "Results": results})
    )
    result = evaluate([load_report(path)], threshold=Severity.LOW)
    assert result.passed
    assert format_text(result).endswith("PASSED: nothing at or above LOW that is not allow-listed")


@pytest.mark.parametrize(
    ("threshold", "passed"),
    [(Severity.CRITICAL, False), (Severity.HIGH, False), (Severity.MEDIUM, False), (Severity.LOW, False)],
)
def test_threshold_on_debian(threshold: Severity, passed: bool) -> None:
    result = evaluate([load_report(need_reference("trivy", "debian-buster.json"))], threshold=threshold)
    assert result.passed is passed


@pytest.mark.parametrize(
    ("threshold", "blocking"), [(Severity.CRITICAL, 0), (Severity.HIGH, 0), (Severity.MEDIUM, 4), (Severity.LOW, 5)]
)
def test_threshold_on_ubuntu(threshold: Severity, blocking: int) -> None:
    result = evaluate([load_report(need_reference("trivy", "ubuntu-1804.json"))], threshold=threshold)
    assert len(result.blocking) == blocking
    assert result.passed is (blocking == 0)


def _allowlist(tmp_path: Path, entries: list[dict[str, Any]]) -> Path:
    path = tmp_path / "allow.yaml"
    path.write_text(json.dumps(entries))  # JSON is YAML
    return path


def test_allowlist_accepts_until_expiry_and_reports_expired_entries(tmp_path: Path) -> None:
    report = load_report(need_reference("trivy", "debian-buster.json"))
    allow = load_allowlist(
        _allowlist(
            tmp_path,
            [
                {"id": "CVE-2019-18224", "reason": "libidn2 is not used by the service", "expires": "2026-06-01"},
                {"id": "CVE-2000-0001", "reason": "old exception", "expires": "2020-01-01"},
            ],
        )
    )
    on_expiry_day = evaluate([report], allowlist=allow, today=TODAY)
    assert on_expiry_day.passed
    assert [h.finding.id for h in on_expiry_day.allowed] == ["CVE-2019-18224"]
    assert [e.id for e in on_expiry_day.expired] == ["CVE-2000-0001"]
    assert "CVE-2000-0001 expired 2020-01-01" in format_text(on_expiry_day)

    day_after = evaluate([report], allowlist=allow, today=TODAY + dt.timedelta(days=1))
    assert not day_after.passed
    assert [e.id for e in day_after.expired] == ["CVE-2019-18224", "CVE-2000-0001"]
    assert "allow-list entry expired 2026-06-01" in format_text(day_after)
    assert "Expired allow-list entries" in format_markdown(day_after)
    assert day_after.to_json()["blocking"][0]["expires"] == "2026-06-01"


def test_allowlist_narrowed_by_package_does_not_cover_other_packages(tmp_path: Path) -> None:
    report = load_report(need_reference("trivy", "ubuntu-1804.json"))
    allow = load_allowlist(
        _allowlist(
            tmp_path,
            [{"id": "CVE-2019-5094", "package": "e2fsprogs", "reason": "build-time only", "expires": "2030-01-01"}],
        )
    )
    result = evaluate([report], threshold=Severity.MEDIUM, allowlist=allow, today=TODAY)
    assert len(result.allowed) == 1
    assert sorted(h.finding.package for h in result.blocking) == ["libcom-err2", "libext2fs2", "libss2"]


@pytest.mark.parametrize(
    "entry",
    [
        {"id": "CVE-1", "expires": "2030-01-01"},
        {"id": "CVE-1", "reason": "fine"},
        {"id": "CVE-1", "reason": "fine", "expires": "someday"},
        {"id": "CVE-1", "reason": "fine", "expires": "2030-01-01", "severity": "LOW"},
    ],
)
def test_allowlist_entries_need_reason_and_expiry(tmp_path: Path, entry: dict[str, Any]) -> None:
    with pytest.raises(ScanInputError, match="entry 1"):
        load_allowlist(_allowlist(tmp_path, [entry]))


@pytest.mark.parametrize("name", [p.name for p in _unsupported_reports()])
def test_sboms_are_refused_as_unsupported(name: str) -> None:
    with pytest.raises(ScanInputError, match=r"(CycloneDX|SPDX).*unsupported format"):
        load_report(need_reference("trivy", name))


def test_bad_inputs_are_errors_not_passes(tmp_path: Path) -> None:
    with pytest.raises(ScanInputError, match="no such report"):
        load_report(tmp_path / "absent.json")
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    with pytest.raises(ScanInputError, match="empty"):
        load_report(empty)
    junk = tmp_path / "junk.json"
    junk.write_text("{not json}")
    with pytest.raises(ScanInputError, match="not valid JSON"):
        load_report(junk)
    old = tmp_path / "v1.json"
    old.write_text(json.dumps({"SchemaVersion": 1, "Results": []}))
    with pytest.raises(ScanInputError, match="SchemaVersion 1"):
        load_report(old)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"hello": "world"}))
    with pytest.raises(ScanInputError, match="unsupported format"):
        load_report(other)


@settings(max_examples=60, deadline=None)
@given(cut=st.floats(min_value=0.0, max_value=0.999))
def test_any_truncation_of_a_real_report_is_an_error(tmp_path_factory: pytest.TempPathFactory, cut: float) -> None:
    raw = need_reference("trivy", "centos-7.json").read_bytes().rstrip()
    path = tmp_path_factory.mktemp("cut") / "cut.json"
    path.write_bytes(raw[: int(len(raw) * cut)])
    with pytest.raises(ScanInputError):
        load_report(path)


def _harbor_native() -> dict[str, Any]:
    # The addition Harbor returns for .../additions/vulnerabilities: reports keyed by their MIME type.
    return {
        "application/vnd.security.vulnerability.report; version=1.1": {
            "generated_at": "2026-01-01T00:00:00Z",
            "artifact": {"repository": "services/user-service", "digest": "sha256:" + "a" * 64},
            "scanner": {"name": "Trivy", "vendor": "Aqua Security", "version": "v0.74.0"},
            "severity": "Critical",
            "vulnerabilities": [
                {
                    "id": "CVE-2024-1",
                    "package": "openssl",
                    "version": "3.0.1",
                    "fix_version": "3.0.2",
                    "severity": "Critical",
                },
                {"id": "CVE-2024-2", "package": "zlib", "version": "1.2", "fix_version": "", "severity": "High"},
                {"id": "CVE-2024-3", "package": "zlib", "version": "1.2", "fix_version": "1.3", "severity": "Low"},
            ],
        }
    }


def test_harbor_native_report() -> None:
    report = parse_report(_harbor_native(), "harbor.json")
    assert report.format == "harbor"
    assert report.artifact == "services/user-service@sha256:" + "a" * 64
    result = evaluate([report], today=TODAY)
    assert {s.label: n for s, n in result.totals.items() if n} == {"CRITICAL": 1, "HIGH": 1, "LOW": 1}
    assert not result.passed
    unfixed_ignored = evaluate([report], ignore_unfixed=True, threshold=Severity.HIGH, today=TODAY)
    assert [h.finding.id for h in unfixed_ignored.blocking] == ["CVE-2024-1"]


def test_harbor_scan_overview_follows_the_swagger_and_gates_on_counts() -> None:
    import yaml

    swagger = yaml.safe_load(need_reference("harbor", "swagger.yaml").read_text())
    summary_props = set(swagger["definitions"]["NativeReportSummary"]["properties"])
    counts_props = set(swagger["definitions"]["VulnerabilitySummary"]["properties"])
    overview = {
        "report_id": "r1",
        "scan_status": "Success",
        "severity": "High",
        "summary": {"total": 3, "fixable": 1, "summary": {"High": 1, "Low": 2}},
        "scanner": {"name": "Trivy", "vendor": "Aqua Security", "version": "v0.74.0"},
    }
    assert set(overview) <= summary_props
    assert set(overview["summary"]) <= counts_props
    artifact = {
        "digest": "sha256:" + "b" * 64,
        "scan_overview": {"application/vnd.security.vulnerability.report; version=1.1": overview},
    }
    result = evaluate([parse_report(artifact, "artifact.json")], today=TODAY)
    assert not result.passed
    assert result.totals[Severity.HIGH] == 1
    assert any("counts only" in n for n in result.notes)
    assert evaluate([parse_report(artifact, "artifact.json")], threshold=Severity.CRITICAL).passed

    running = json.loads(json.dumps(artifact))
    running["scan_overview"]["application/vnd.security.vulnerability.report; version=1.1"]["scan_status"] = "Running"
    with pytest.raises(ScanInputError, match="did not succeed"):
        parse_report(running, "artifact.json")
