"""Reading scan reports: Trivy JSON (SchemaVersion 2) and Harbor's native vulnerability report.

Fail closed: a report is gated on only when every part the verdict depends on is present, of the right
type and consistent. Anything else is refused with exit 2 and a reason, never read as "no
vulnerabilities": a gate that passes on a file it did not understand is worse than no gate. That
covers the JSON itself (duplicate keys, NaN, numbers or nesting Python cannot read, more than
``MAX_REPORT_BYTES``), a severity that is missing, empty or not one the scanner writes, a Trivy report
without vulnerability results, and a Harbor summary whose counts do not add up to its total.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from shipyard.bounded import MAX_DEPTH, InputError, TooComplex, TooLarge, check_depth, read_bytes
from shipyard.errors import ShipyardError
from shipyard.scan.model import Finding, Report, Severity, Target

HARBOR_MIME_PREFIXES = ("application/vnd.security.vulnerability.report", "application/vnd.scanner.adapter.vuln.report")
# Trivy's reports of real images run to tens of MiB; a bound keeps a hostile file from taking the memory.
MAX_REPORT_BYTES = 256 * 1024 * 1024
_INT64_MAX = 2**63 - 1  # Harbor's counts are int64: anything larger was not written by Harbor

# The words each scanner writes for one finding. Harbor's "Negligible" (from older scanners) counts as LOW,
# never lower, so a mapping can only make the gate stricter.
TRIVY_SEVERITIES = {
    s.name: s for s in (Severity.UNKNOWN, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL)
}
HARBOR_SEVERITIES = {**TRIVY_SEVERITIES, "NEGLIGIBLE": Severity.LOW}
# A report's overall severity may also be Harbor's "None" (nothing found).
HARBOR_OVERALL = {**HARBOR_SEVERITIES, "NONE": Severity.NONE}
# Trivy's result classes that come from a vulnerability scan; a report with neither scanned nothing for them.
VULNERABILITY_CLASSES = ("os-pkgs", "lang-pkgs")


class ScanInputError(ShipyardError):
    """A report that cannot be gated on: missing, empty, truncated, malformed or in an unsupported format."""

    exit_code = 2


class _Refused(Exception):
    """Raised from inside the JSON decoder's hooks, turned into a ScanInputError by ``decode_json``."""


def _show(value: Any) -> str:
    """A value quoted for a one-line message: repr (never a raw newline), cut to a readable length."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise _Refused(f"the key {_show(key)} appears twice in one object, so which value counts is not defined")
        obj[key] = value
    return obj


def _no_constant(word: str) -> Any:
    raise _Refused(f"{word} is not a JSON number")


def decode_json(raw: bytes, path: str) -> Any:
    """Strict JSON: duplicate keys, NaN/Infinity, unreadable numbers and runaway nesting are refused."""
    if len(raw) > MAX_REPORT_BYTES:
        raise ScanInputError(f"{path}: the report is larger than {MAX_REPORT_BYTES >> 20} MiB; refusing to read it")
    if not raw.strip():
        raise ScanInputError(f"{path}: the report is empty (zero bytes); did the scanner fail before writing it?")
    try:
        data = json.loads(raw, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except _Refused as exc:
        raise ScanInputError(f"{path}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ScanInputError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        # A report cut off mid-write ends without its closing bracket; say so rather than quote the parser.
        if exc.pos >= len(raw.rstrip()) or raw.rstrip()[-1:] not in (b"}", b"]"):
            raise ScanInputError(f"{path}: the report is truncated (JSON ends early at {where})") from None
        raise ScanInputError(f"{path}: not valid JSON at {where}: {exc.msg}") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise ScanInputError(f"{path}: a value cannot be read: {str(exc).splitlines()[0][:120]}") from None
    except RecursionError:
        raise ScanInputError(f"{path}: the JSON is nested too deeply to be a scan report") from None
    try:
        check_depth(data, MAX_DEPTH, path)  # what Python's recursion limit lets through is still far too deep
    except TooComplex:
        raise ScanInputError(f"{path}: the JSON is nested too deeply to be a scan report") from None
    return data


def load_report(path: Path) -> Report:
    """Parse one report file, detecting its format from its content; never more than MAX_REPORT_BYTES read."""
    if not path.is_file():
        raise ScanInputError(f"{path}: no such report file")
    try:
        raw = read_bytes(path, MAX_REPORT_BYTES, str(path))
    except TooLarge:
        refusal = f"{path}: the report is larger than {MAX_REPORT_BYTES >> 20} MiB; refusing to read it"
        raise ScanInputError(refusal) from None
    except InputError as exc:
        raise ScanInputError(exc.message) from None
    return parse_report(decode_json(raw, str(path)), str(path))


def parse_report(data: Any, path: str) -> Report:
    """Turn already-decoded JSON into a ``Report``; ``path`` names it in messages."""
    if not isinstance(data, dict):
        raise ScanInputError(f"{path}: expected a JSON object, found {type(data).__name__}")
    if data.get("bomFormat") == "CycloneDX":
        raise ScanInputError(
            f"{path}: this is a CycloneDX SBOM, not a vulnerability report; unsupported format",
            hint="scan it first: trivy sbom --format json FILE",
        )
    if "spdxVersion" in data or "SPDXID" in data:
        raise ScanInputError(
            f"{path}: this is an SPDX document, not a vulnerability report; unsupported format",
            hint="scan it first: trivy sbom --format json FILE",
        )
    mimes = [k for k in data if k.startswith(HARBOR_MIME_PREFIXES)]
    formats = {
        "a Trivy report (SchemaVersion)": "SchemaVersion" in data,
        "a Harbor artifact (scan_overview)": "scan_overview" in data,
        "Harbor reports by MIME type": bool(mimes),
        "a Harbor report (vulnerabilities)": "vulnerabilities" in data,
    }
    found = [name for name, present in formats.items() if present]
    if len(found) > 1:
        raise ScanInputError(f"{path}: the document looks like {' and '.join(found)} at once; not understood")
    if "SchemaVersion" in data:
        return _trivy(data, path)
    if "scan_overview" in data:
        overview = data["scan_overview"]
        if not isinstance(overview, dict):
            raise ScanInputError(f"{path}: scan_overview is {_show(overview)}: the artifact has not been scanned")
        return _harbor(overview, path, _harbor_artifact_name(data))
    if mimes:
        others = [k for k in data if k not in mimes]
        if others:
            raise ScanInputError(f"{path}: {_show(others[0])} is not a report's MIME type; not understood")
        return _harbor(data, path, "")
    if "vulnerabilities" in data:
        return _harbor({HARBOR_MIME_PREFIXES[0]: data}, path, "")
    raise ScanInputError(
        f"{path}: unsupported format (keys: {', '.join(_show(k) for k in sorted(data)[:6]) or 'none'})",
        hint="supported: Trivy JSON (SchemaVersion 2) and Harbor's native vulnerability report",
    )


def _field(obj: dict[str, Any], key: str, path: str, where: str) -> str:
    value = obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ScanInputError(f"{path}: {where}.{key} should be a string, found {type(value).__name__}")
    return value


def _severity(word: Any, words: dict[str, Severity], path: str, where: str) -> Severity:
    """A severity the scanner writes, in any case; missing, empty or any other word is refused."""
    found = words.get(word.upper()) if isinstance(word, str) else None
    if found is None:
        shown = "missing" if word is None else _show(word)
        valid = ", ".join(sorted(words, key=lambda w: words[w]))
        raise ScanInputError(f"{path}: {where} is {shown}, not a severity; valid: {valid}")
    return found


def _count(value: Any, path: str, where: str) -> int:
    # bool is an int in Python: `true` must not count as one vulnerability, nor pass as zero.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _INT64_MAX:
        raise ScanInputError(f"{path}: {where} should be a count, found {_show(value)}")
    return int(value)


# Where each format keeps a finding's fields: id, package, installed, fixed, severity, title.
_TRIVY_KEYS = ("VulnerabilityID", "PkgName", "InstalledVersion", "FixedVersion", "Severity", "Title")
_HARBOR_KEYS = ("id", "package", "version", "fix_version", "severity", "description")


def _findings(
    vulns: list[Any], keys: tuple[str, ...], words: dict[str, Severity], path: str, where: str
) -> tuple[Finding, ...]:
    """The findings of one target, read with the format's field names; an entry without an id is an error."""
    ident, package, installed, fixed, severity, title = keys
    found: list[Finding] = []
    for number, vuln in enumerate(vulns):
        at = f"{where}[{number}]"
        if not isinstance(vuln, dict) or not vuln.get(ident):
            raise ScanInputError(f"{path}: {at} has no {ident}")
        found.append(
            Finding(
                id=_field(vuln, ident, path, at),
                package=_field(vuln, package, path, at),
                installed=_field(vuln, installed, path, at),
                fixed=_field(vuln, fixed, path, at),
                severity=_severity(vuln.get(severity), words, path, f"{at}.{severity}"),
                title=_field(vuln, title, path, at),
            )
        )
    return tuple(found)


def _trivy(data: dict[str, Any], path: str) -> Report:
    version = data.get("SchemaVersion")
    if type(version) is not int or version != 2:  # not True, not 2.0: Trivy writes the integer
        raise ScanInputError(
            f"{path}: Trivy report SchemaVersion {_show(version)} is not supported; valid: 2",
            hint="write the report with a current Trivy: trivy image --format json --output FILE IMAGE",
        )
    for key in ("ArtifactName", "ArtifactType"):
        if not isinstance(data.get(key), str):
            raise ScanInputError(f"{path}: a Trivy report names its artifact, but {key} is {_show(data.get(key))}")
    results = data.get("Results")
    if results is None or results == []:
        # Trivy omits Results when it found nothing it could scan (an OS it does not support, an empty
        # folder): nothing was checked, so nothing is known clean.
        raise ScanInputError(
            f"{path}: the report has no Results: Trivy found nothing it could scan for vulnerabilities",
            hint="check the scan's log (e.g. an unsupported OS); a gate cannot pass what was not scanned",
        )
    if not isinstance(results, list):
        raise ScanInputError(f"{path}: Results should be a list, found {type(results).__name__}")
    targets: list[Target] = []
    classes: list[str] = []
    for index, result in enumerate(results):
        where = f"Results[{index}]"
        if not isinstance(result, dict):
            raise ScanInputError(f"{path}: {where} should be an object")
        for key in ("Target", "Class"):
            if not isinstance(result.get(key), str):
                raise ScanInputError(f"{path}: {where}.{key} should be a string, found {_show(result.get(key))}")
        classes.append(result["Class"])
        vulns = result.get("Vulnerabilities", [])  # Trivy omits the key for a target without findings
        if not isinstance(vulns, list):
            raise ScanInputError(f"{path}: {where}.Vulnerabilities should be a list, found {_show(vulns)}")
        findings = _findings(vulns, _TRIVY_KEYS, TRIVY_SEVERITIES, path, f"{where}.Vulnerabilities")
        targets.append(Target(name=result["Target"] or "(unnamed)", findings=findings))
    if not any(c in VULNERABILITY_CLASSES for c in classes):
        raise ScanInputError(
            f"{path}: the report holds no vulnerability scan (result classes: {', '.join(sorted(set(classes)))})",
            hint="scan with Trivy's vulnerability scanner: trivy image --scanners vuln --format json",
        )
    return Report(path=path, format="trivy", artifact=data["ArtifactName"], targets=tuple(targets))


def _harbor_artifact_name(artifact: dict[str, Any]) -> str:
    digest = artifact.get("digest")
    return digest if isinstance(digest, str) else ""


def _harbor(by_mime: dict[str, Any], path: str, artifact: str) -> Report:
    targets: list[Target] = []
    for mime in sorted(by_mime):
        body = by_mime[mime]
        if not isinstance(body, dict):
            raise ScanInputError(f"{path}: the report under {_show(mime)} should be an object")
        native = "vulnerabilities" in body
        overview = "summary" in body or "scan_status" in body
        if native and overview:
            raise ScanInputError(f"{path}: the report under {_show(mime)} is both a report and a summary")
        if native:
            targets.append(_harbor_native(body, path, mime))
            artifact = artifact or _harbor_native_artifact(body)
        elif overview:
            targets.append(_harbor_overview(body, path, mime))
        else:
            raise ScanInputError(f"{path}: the report under {_show(mime)} has neither vulnerabilities nor a summary")
    if not targets:
        raise ScanInputError(f"{path}: a Harbor report with no scanner reports in it; was the artifact scanned?")
    return Report(path=path, format="harbor", artifact=artifact, targets=tuple(targets))


def _harbor_native_artifact(body: dict[str, Any]) -> str:
    artifact = body.get("artifact")
    if not isinstance(artifact, dict):
        return ""
    repository, tag, digest = (artifact.get(k) for k in ("repository", "tag", "digest"))
    if isinstance(repository, str) and isinstance(digest, str):
        return f"{repository}@{digest}"
    if isinstance(repository, str) and isinstance(tag, str):
        return f"{repository}:{tag}"
    return ""


def _harbor_target_name(body: dict[str, Any], mime: str) -> str:
    scanner = body.get("scanner")
    if isinstance(scanner, dict) and isinstance(scanner.get("name"), str):
        version = scanner.get("version")
        return f"{scanner['name']} {version if isinstance(version, str) else ''}".strip()
    return mime.split(";", 1)[0]


def _check_overall(body: dict[str, Any], worst: Severity, path: str, mime: str) -> None:
    """A report's overall severity may not exceed what its findings show: that report lost findings."""
    if "severity" not in body:
        return
    overall = _severity(body["severity"], HARBOR_OVERALL, path, f"the severity of the report under {_show(mime)}")
    if overall > max(worst, Severity.UNKNOWN):
        raise ScanInputError(
            f"{path}: the report under {_show(mime)} says its severity is {overall.label} "
            f"but lists nothing that severe; findings are missing"
        )


def _harbor_native(body: dict[str, Any], path: str, mime: str) -> Target:
    vulns = body["vulnerabilities"]
    if not isinstance(vulns, list):
        raise ScanInputError(f"{path}: vulnerabilities under {_show(mime)} should be a list, found {_show(vulns)}")
    findings = _findings(vulns, _HARBOR_KEYS, HARBOR_SEVERITIES, path, "vulnerabilities")
    _check_overall(body, max((f.severity for f in findings), default=Severity.NONE), path, mime)
    # Harbor has no title, only a description: its first line, shortened, serves as one.
    findings = tuple(replace(f, title=f.title.split("\n", 1)[0][:120]) for f in findings)
    return Target(name=_harbor_target_name(body, mime), findings=findings)


def _harbor_overview(body: dict[str, Any], path: str, mime: str) -> Target:
    status = body.get("scan_status")
    if status != "Success":
        raise ScanInputError(f"{path}: Harbor's scan did not succeed (scan_status {_show(status)}); nothing to gate on")
    summary = body.get("summary")
    if not isinstance(summary, dict):
        raise ScanInputError(f"{path}: the scan overview under {_show(mime)} has no summary counts")
    total = _count(summary.get("total"), path, "summary.total")
    breakdown = summary.get("summary")
    if breakdown is None and total == 0:
        breakdown = {}
    if not isinstance(breakdown, dict):
        raise ScanInputError(
            f"{path}: summary.total is {total} but summary.summary is {_show(breakdown)}: no count per severity"
        )
    counts: dict[Severity, int] = {}
    for word, number in breakdown.items():
        severity = _severity(word, HARBOR_SEVERITIES, path, "a key of summary.summary")
        counts[severity] = counts.get(severity, 0) + _count(number, path, f"summary.summary.{word}")
    if sum(counts.values()) != total:
        raise ScanInputError(
            f"{path}: summary.summary counts {sum(counts.values())} findings but summary.total is {total}"
        )
    _check_overall(body, max((s for s, n in counts.items() if n), default=Severity.NONE), path, mime)
    return Target(name=_harbor_target_name(body, mime), counts=counts)
