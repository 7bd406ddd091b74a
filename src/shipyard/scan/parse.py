"""Reading scan reports: Trivy JSON (SchemaVersion 2) and Harbor's native vulnerability report.

Anything else is refused with exit 2 and a reason, never read as "no vulnerabilities": a gate that
passes on a file it did not understand is worse than no gate.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from shipyard.errors import ShipyardError
from shipyard.scan.model import Finding, Report, Severity, Target

# Trivy's reports of real images run to tens of MiB; a bound keeps a hostile file from taking the memory.
MAX_REPORT_BYTES = 256 * 1024 * 1024
HARBOR_MIME_PREFIXES = ("application/vnd.security.vulnerability.report", "application/vnd.scanner.adapter.vuln.report")


class ScanInputError(ShipyardError):
    """A report that cannot be gated on: missing, empty, truncated, malformed or in an unsupported format."""

    exit_code = 2


def load_report(path: Path) -> Report:
    """Parse one report file, detecting its format from its content."""
    from shipyard.bounded import MAX_DEPTH, InputError, TooComplex, check_depth, read_bytes

    if not path.is_file():
        raise ScanInputError(f"{path}: no such report file")
    try:
        raw = read_bytes(path, MAX_REPORT_BYTES, str(path))
    except InputError as exc:
        raise ScanInputError(exc.message) from None
    if not raw.strip():
        raise ScanInputError(f"{path}: the report is empty (zero bytes); did the scanner fail before writing it?")
    try:
        data = json.loads(raw)
        check_depth(data, MAX_DEPTH, str(path))
    except (RecursionError, TooComplex):
        raise ScanInputError(f"{path}: nests deeper than {MAX_DEPTH} levels: refused") from None
    except UnicodeDecodeError as exc:
        raise ScanInputError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        # A report cut off mid-write ends without its closing bracket; say so rather than quote the parser.
        if exc.pos >= len(raw.rstrip()) or raw.rstrip()[-1:] not in (b"}", b"]"):
            raise ScanInputError(f"{path}: the report is truncated (JSON ends early at {where})") from exc
        raise ScanInputError(f"{path}: not valid JSON at {where}: {exc.msg}") from exc
    except ValueError as exc:  # a number Python cannot read (past its digit limit)
        raise ScanInputError(f"{path}: not valid JSON: {str(exc).splitlines()[0]}") from None
    return parse_report(data, str(path))


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
    if "SchemaVersion" in data:
        return _trivy(data, path)
    if "scan_overview" in data and isinstance(data["scan_overview"], dict):
        return _harbor(data["scan_overview"], path, _harbor_artifact_name(data))
    if any(isinstance(k, str) and k.startswith(HARBOR_MIME_PREFIXES) for k in data):
        return _harbor(data, path, "")
    if isinstance(data.get("vulnerabilities"), list):
        return _harbor({HARBOR_MIME_PREFIXES[0]: data}, path, "")
    raise ScanInputError(
        f"{path}: unsupported format (keys: {', '.join(sorted(map(str, data))[:6]) or 'none'})",
        hint="supported: Trivy JSON (SchemaVersion 2) and Harbor's native vulnerability report",
    )


def _field(obj: dict[str, Any], key: str, path: str, where: str) -> str:
    value = obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ScanInputError(f"{path}: {where}.{key} should be a string, found {type(value).__name__}")
    return value


# Where each format keeps a finding's fields: id, package, installed, fixed, severity, title.
_TRIVY_KEYS = ("VulnerabilityID", "PkgName", "InstalledVersion", "FixedVersion", "Severity", "Title")
_HARBOR_KEYS = ("id", "package", "version", "fix_version", "severity", "description")


def _findings(vulns: list[Any], keys: tuple[str, ...], path: str, where: str) -> tuple[Finding, ...]:
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
                severity=Severity.parse(_field(vuln, severity, path, at)),
                title=_field(vuln, title, path, at),
            )
        )
    return tuple(found)


def _trivy(data: dict[str, Any], path: str) -> Report:
    version = data.get("SchemaVersion")
    if version != 2:
        raise ScanInputError(
            f"{path}: Trivy report SchemaVersion {version!r} is not supported; valid: 2",
            hint="write the report with a current Trivy: trivy image --format json --output FILE IMAGE",
        )
    results = data.get("Results")
    if results is None:
        results = []  # Trivy omits Results when nothing was found: a clean scan
    if not isinstance(results, list):
        raise ScanInputError(f"{path}: Results should be a list, found {type(results).__name__}")
    targets: list[Target] = []
    for index, result in enumerate(results):
        where = f"Results[{index}]"
        if not isinstance(result, dict):
            raise ScanInputError(f"{path}: {where} should be an object")
        vulns = result.get("Vulnerabilities") or []
        if not isinstance(vulns, list):
            raise ScanInputError(f"{path}: {where}.Vulnerabilities should be a list")
        findings = _findings(vulns, _TRIVY_KEYS, path, f"{where}.Vulnerabilities")
        targets.append(Target(name=_field(result, "Target", path, where) or "(unnamed)", findings=findings))
    artifact = data.get("ArtifactName")
    return Report(
        path=path, format="trivy", artifact=artifact if isinstance(artifact, str) else "", targets=tuple(targets)
    )


def _harbor_artifact_name(artifact: dict[str, Any]) -> str:
    digest = artifact.get("digest")
    return digest if isinstance(digest, str) else ""


def _harbor(by_mime: dict[str, Any], path: str, artifact: str) -> Report:
    targets: list[Target] = []
    for mime in sorted(by_mime):
        body = by_mime[mime]
        if not isinstance(body, dict):
            raise ScanInputError(f"{path}: the report under '{mime}' should be an object")
        if "vulnerabilities" in body:
            targets.append(_harbor_native(body, path, mime))
            artifact = artifact or _harbor_native_artifact(body)
        elif "summary" in body or "scan_status" in body:
            targets.append(_harbor_overview(body, path, mime))
        else:
            raise ScanInputError(f"{path}: the report under '{mime}' has neither vulnerabilities nor a summary")
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
        return f"{scanner['name']} {scanner.get('version') or ''}".strip()
    return mime.split(";", 1)[0]


def _harbor_native(body: dict[str, Any], path: str, mime: str) -> Target:
    vulns = body["vulnerabilities"] or []
    if not isinstance(vulns, list):
        raise ScanInputError(f"{path}: vulnerabilities under '{mime}' should be a list")
    findings = _findings(vulns, _HARBOR_KEYS, path, "vulnerabilities")
    # Harbor has no title, only a description: its first line, shortened, serves as one.
    findings = tuple(replace(f, title=f.title.split("\n", 1)[0][:120]) for f in findings)
    return Target(name=_harbor_target_name(body, mime), findings=findings)


def _harbor_overview(body: dict[str, Any], path: str, mime: str) -> Target:
    status = body.get("scan_status")
    if status is not None and status != "Success":
        raise ScanInputError(f"{path}: Harbor's scan did not succeed (scan_status {status!r}); nothing to gate on")
    summary = body.get("summary")
    if not isinstance(summary, dict) or not isinstance(summary.get("summary", {}), dict):
        raise ScanInputError(f"{path}: the scan overview under '{mime}' has no summary counts")
    counts: dict[Severity, int] = {}
    for word, number in (summary.get("summary") or {}).items():
        if not isinstance(number, int) or number < 0:
            raise ScanInputError(f"{path}: summary.summary.{word} should be a count, found {number!r}")
        severity = Severity.parse(word)
        counts[severity] = counts.get(severity, 0) + number
    return Target(name=_harbor_target_name(body, mime), counts=counts)
