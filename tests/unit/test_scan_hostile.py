"""Hostile and malformed reports never pass the gate: a correct verdict on a well-formed report, or exit 2.

Reports are generated with known findings (the ground truth), then either changed in ways that keep their
meaning (extra fields, other letter case: the verdict must not move) or broken where the verdict depends on
them (a required field removed, a wrong type, a null, an unknown severity, a duplicate key, a huge number,
runaway nesting: always ScanInputError). A third test throws arbitrary JSON at the parser and checks, with a
naive traversal written here, that whatever it accepts it counted whole.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from shipyard.scan import ScanInputError, Severity, evaluate
from shipyard.scan.parse import decode_json, parse_report

MIME = "application/vnd.security.vulnerability.report; version=1.1"
TRIVY_WORDS = ["UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
HARBOR_WORDS = ["Unknown", "Low", "Medium", "High", "Critical"]
RANK = {w.upper(): i + 1 for i, w in enumerate(TRIVY_WORDS)}  # the gate's order: UNKNOWN lowest

severities = st.lists(st.sampled_from(TRIVY_WORDS), max_size=6)
thresholds = st.sampled_from([Severity.UNKNOWN, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL])


def trivy(targets: list[list[str]]) -> dict[str, Any]:
    """A well-formed Trivy report: one os-pkgs result, then lang-pkgs results, with these severities."""
    results = []
    for index, words in enumerate(targets):
        result: dict[str, Any] = {
            "Target": f"target-{index}",
            "Class": "os-pkgs" if index == 0 else "lang-pkgs",
            "Type": "debian",
        }
        if words:
            result["Vulnerabilities"] = [
                {
                    "VulnerabilityID": f"CVE-2024-{index}{n:03d}",
                    "PkgName": "pkg",
                    "InstalledVersion": "1.0",
                    "FixedVersion": "1.1" if n % 2 else "",
                    "Severity": word,
                }
                for n, word in enumerate(words)
            ]
        results.append(result)
    return {
        "SchemaVersion": 2,
        "ArtifactName": "registry.example/app:1",
        "ArtifactType": "container_image",
        "Results": results,
    }


def harbor_native(words: list[str]) -> dict[str, Any]:
    """Harbor's vulnerabilities addition with these severities (Harbor's spelling)."""
    vulns = [
        {"id": f"CVE-2024-{n:04d}", "package": "pkg", "version": "1", "fix_version": "", "severity": w.capitalize()}
        for n, w in enumerate(words)
    ]
    worst = max(words, key=lambda w: RANK[w], default="UNKNOWN").capitalize()
    return {MIME: {"scanner": {"name": "Trivy", "version": "v0.74.0"}, "severity": worst, "vulnerabilities": vulns}}


def harbor_overview(words: list[str]) -> dict[str, Any]:
    """An artifact with Harbor's scan overview: counts only."""
    counts = Counter(w.capitalize() for w in words)
    worst = max(words, key=lambda w: RANK[w], default="UNKNOWN").capitalize()
    overview = {
        "scan_status": "Success",
        "severity": worst,
        "summary": {"total": len(words), "fixable": 0, "summary": dict(counts)},
    }
    return {"digest": "sha256:" + "a" * 64, "scan_overview": {MIME: overview}}


def truth(words: list[str], threshold: Severity) -> tuple[bool, Counter[str]]:
    """The verdict and counts the gate must give, worked out without the parser."""
    return all(RANK[w] < threshold.value for w in words), Counter(w.upper() for w in words)


def verdict(data: Any, threshold: Severity) -> tuple[bool, Counter[str]]:
    result = evaluate([parse_report(data, "report.json")], threshold=threshold)
    return result.passed, Counter({s.label: n for s, n in result.totals.items() if n})


def refused(data: Any) -> ScanInputError:
    with pytest.raises(ScanInputError) as caught:
        parse_report(data, "report.json")
    assert "\n" not in caught.value.message  # one line, whatever the report holds
    return caught.value


# Where the verdict depends on a value: removing it, or giving it a wrong type, must be refused.
TRIVY_REQUIRED: list[tuple[str | int, ...]] = [
    ("SchemaVersion",),
    ("ArtifactName",),
    ("ArtifactType",),
    ("Results",),
    ("Results", 0, "Class"),
    ("Results", 0, "Target"),
    ("Results", 0, "Vulnerabilities", 0, "VulnerabilityID"),
    ("Results", 0, "Vulnerabilities", 0, "Severity"),
]
NATIVE_REQUIRED: list[tuple[str | int, ...]] = [
    (MIME, "vulnerabilities"),
    (MIME, "vulnerabilities", 0, "id"),
    (MIME, "vulnerabilities", 0, "severity"),
]
OVERVIEW_REQUIRED: list[tuple[str | int, ...]] = [
    ("scan_overview",),
    ("scan_overview", MIME, "scan_status"),
    ("scan_overview", MIME, "summary"),
    ("scan_overview", MIME, "summary", "total"),
]
WRONG = [None, True, 0, 2.5, -1, 10**30, "", "x", [], {}, [None], {"a": None}]


def _parent(data: Any, path: tuple[Any, ...]) -> tuple[Any, Any]:
    node = data
    for part in path[:-1]:
        node = node[part]
    return node, path[-1]


@settings(max_examples=150, deadline=None)
@given(targets=st.lists(severities, min_size=1, max_size=3), threshold=thresholds)
def test_well_formed_trivy_reports_get_the_true_verdict(targets: list[list[str]], threshold: Severity) -> None:
    words = [w for t in targets for w in t]
    assert verdict(trivy(targets), threshold) == truth(words, threshold)


@settings(max_examples=150, deadline=None)
@given(words=severities, threshold=thresholds)
def test_well_formed_harbor_reports_get_the_true_verdict(words: list[str], threshold: Severity) -> None:
    assert verdict(harbor_native(words), threshold) == truth(words, threshold)
    assert verdict(harbor_overview(words), threshold) == truth(words, threshold)


@settings(max_examples=200, deadline=None)
@given(
    targets=st.lists(severities, min_size=1, max_size=3),
    threshold=thresholds,
    extra=st.dictionaries(
        st.text(min_size=1, max_size=8).map(lambda k: "x-" + k), st.integers() | st.text(), max_size=3
    ),
    case=st.sampled_from([str.lower, str.upper, str.capitalize]),
)
def test_meaning_preserving_changes_keep_the_verdict(
    targets: list[list[str]], threshold: Severity, extra: dict[str, Any], case: Any
) -> None:
    data = trivy(targets)
    data.update(extra)  # fields the parser does not know are ignored, wherever they are
    for result in data["Results"]:
        result.update(extra)
        for vuln in result.get("Vulnerabilities", []):
            vuln.update(extra)
            vuln["Severity"] = case(vuln["Severity"])
    words = [w for t in targets for w in t]
    assert verdict(data, threshold) == truth(words, threshold)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    words=st.lists(st.sampled_from(TRIVY_WORDS), min_size=1, max_size=4),
    kind=st.sampled_from(["trivy", "native", "overview"]),
    where=st.integers(min_value=0, max_value=10),
    remove=st.booleans(),
    wrong=st.sampled_from(WRONG),
)
def test_a_required_value_missing_or_of_the_wrong_type_is_refused(
    words: list[str], kind: str, where: int, remove: bool, wrong: Any
) -> None:
    data: dict[str, Any]
    if kind == "trivy":
        data, required = trivy([words]), TRIVY_REQUIRED
    elif kind == "native":
        data, required = harbor_native(words), NATIVE_REQUIRED
    else:
        data, required = harbor_overview(words), OVERVIEW_REQUIRED
    parent, key = _parent(data, required[where % len(required)])
    if remove:
        del parent[key]
    else:
        # Values that stay meaningful where they land are not a break: a name is any string, an id any text,
        # and an empty list of vulnerabilities is a clean report.
        assume(not (key in ("ArtifactName", "ArtifactType", "Target") and isinstance(wrong, str)))
        assume(not (key in ("VulnerabilityID", "id") and wrong == "x"))
        assume(not (key == "vulnerabilities" and wrong == []))
        parent[key] = wrong
    refused(data)


@settings(max_examples=100, deadline=None)
@given(words=st.lists(st.sampled_from(TRIVY_WORDS), min_size=1, max_size=4), bad=st.text(max_size=10))
def test_a_severity_nobody_writes_is_refused_never_ranked_low(words: list[str], bad: str) -> None:
    assume(bad.upper() not in RANK and bad.upper() != "NEGLIGIBLE")
    data = trivy([words])
    data["Results"][0]["Vulnerabilities"][-1]["Severity"] = bad
    assert "not a severity" in refused(data).message
    native = harbor_native(words)
    native[MIME]["vulnerabilities"][0]["severity"] = bad
    refused(native)
    overview = harbor_overview(words)
    overview["scan_overview"][MIME]["summary"]["summary"][bad] = 0
    refused(overview)


# The review's examples, each one a report that used to pass.
REVIEW_EXAMPLES: list[tuple[str, bytes]] = [
    ("unknown severity", json.dumps(trivy([["Important"]])).encode()),
    ("empty severity", json.dumps(trivy([[""]])).encode()),
    ("only SchemaVersion", b'{"SchemaVersion": 2}'),
    (
        "total without breakdown",
        json.dumps(harbor_overview(["HIGH"])).replace('"summary": {"High": 1}', '"x": 0').encode(),
    ),
    ("vulnerabilities null", json.dumps({MIME: {"severity": "Critical", "vulnerabilities": None}}).encode()),
    (
        "duplicate keys",
        b'{"SchemaVersion": 2, "ArtifactName": "a", "ArtifactType": "container_image", "Results": ['
        b'{"Target": "t", "Class": "os-pkgs", "Vulnerabilities": [{"VulnerabilityID": "CVE-1", "Severity": "CRITICAL",'
        b' "Severity": "LOW"}]}]}',
    ),
    ("duplicate results", b'{"SchemaVersion": 2, "Results": [], "Results": [{"Target": "t", "Class": "os-pkgs"}]}'),
    ("huge count", json.dumps(harbor_overview(["HIGH"])).replace('"total": 1', '"total": 1' + "0" * 5000).encode()),
    ("boolean count", json.dumps(harbor_overview(["HIGH"])).replace('"High": 1', '"High": true').encode()),
    ("NaN", json.dumps(trivy([["HIGH"]])).replace('"SchemaVersion": 2', '"SchemaVersion": 2, "x": NaN').encode()),
    ("deep nesting", b'{"SchemaVersion": 2, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
    (
        "float schema version",
        json.dumps(trivy([["HIGH"]])).replace('"SchemaVersion": 2', '"SchemaVersion": 2.0').encode(),
    ),
    ("Trivy and Harbor at once", json.dumps({**trivy([["LOW"]]), "vulnerabilities": []}).encode()),
    ("severity says more", json.dumps({MIME: {"severity": "Critical", "vulnerabilities": []}}).encode()),
    ("scan not finished", json.dumps(harbor_overview([])).replace('"Success"', '"Running"').encode()),
]


@pytest.mark.parametrize(("name", "raw"), REVIEW_EXAMPLES, ids=[n for n, _ in REVIEW_EXAMPLES])
def test_the_reviews_examples_are_not_scanned(name: str, raw: bytes) -> None:
    with pytest.raises(ScanInputError) as caught:
        parse_report(decode_json(raw, "report.json"), "report.json")
    assert "\n" not in caught.value.message


def test_the_cli_says_not_scanned_in_one_line_with_exit_2(tmp_path: Path) -> None:
    for name, raw in REVIEW_EXAMPLES[:6]:
        path = tmp_path / "report.json"
        path.write_bytes(raw)
        proc = subprocess.run(
            [sys.executable, "-m", "shipyard", "scan", "gate", str(path)], capture_output=True, text=True, check=False
        )
        assert proc.returncode == 2, (name, proc.stdout, proc.stderr)
        lines = proc.stderr.splitlines()
        assert lines[0].startswith("error: ") and all(line.startswith("  hint: ") for line in lines[1:]), name
        assert proc.stdout == ""


# Arbitrary JSON, with the real formats' keys mixed in so it reaches deep into the parser.
KEYS = st.sampled_from(
    ["SchemaVersion", "ArtifactName", "ArtifactType", "Results", "Target", "Class", "Vulnerabilities",
     "VulnerabilityID", "Severity", "scan_overview", MIME, "vulnerabilities", "id", "severity", "summary",
     "total", "scan_status", "x"]
)  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-3, max_value=2**64)
    | st.sampled_from([2, "os-pkgs", "lang-pkgs", "HIGH", "Low", "Success", "CVE-1", "", "None"])
)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=6))


def _naive_findings(data: Any) -> int:
    """Every finding entry anywhere a reader could take for one: what an accepted report must all have counted."""
    if not isinstance(data, dict):
        return 0
    found = 0
    for result in data.get("Results") or [] if isinstance(data.get("Results"), list) else []:
        if isinstance(result, dict) and isinstance(result.get("Vulnerabilities"), list):
            found += len(result["Vulnerabilities"])
    bodies = [data] + [v for k, v in data.items() if k == MIME]
    if isinstance(data.get("scan_overview"), dict):
        bodies += list(data["scan_overview"].values())
    for body in bodies:
        if isinstance(body, dict):
            if isinstance(body.get("vulnerabilities"), list):
                found += len(body["vulnerabilities"])
            summary = body.get("summary")
            if isinstance(summary, dict) and isinstance(summary.get("total"), int):
                found += summary["total"]
    return found


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.dictionaries(KEYS, JSON, max_size=6))
def test_arbitrary_json_is_refused_or_counted_whole(data: dict[str, Any]) -> None:
    try:
        report = parse_report(data, "report.json")
    except ScanInputError as exc:
        assert "\n" not in exc.message
        return
    result = evaluate([report], threshold=Severity.UNKNOWN)
    assert sum(result.totals.values()) == _naive_findings(data)
    assert result.passed == (_naive_findings(data) == 0)
