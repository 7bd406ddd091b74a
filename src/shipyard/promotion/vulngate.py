"""The vulnerability gate before a manual stage: re-read each digest's scan from the registry and gate on it.

A freight may have passed its scan at build time and still carry a vulnerability published since; a
registry that scans (Harbor) re-scans stored artifacts, so before a person approves freight into a
manual stage Shipyard reads Harbor's current report of every digest and applies the scan gate with the
spec's threshold (``registry.scan.severityThreshold``). A report Harbor does not have (``{}``) is "not
scanned": it blocks, because unknown is never clean. Auto stages are not re-checked (the build's scan
gate already ran); registries that do not scan (``local``, ``oci``) have nothing to read, and the gate
says so instead of passing silently.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipyard.errors import ShipyardError
from shipyard.promotion.gates import Gate
from shipyard.registry.reference import parse_reference
from shipyard.scan.gate import evaluate
from shipyard.scan.model import SEVERITY_ORDER, Severity
from shipyard.scan.parse import ScanInputError, parse_report
from shipyard.spec.model import Platform
from shipyard.stages.graph import StageNode

if TYPE_CHECKING:
    from shipyard.registry.harbor.client import HarborClient

NAME = "vulnerabilities"


def vulnerability_gate(
    platform: Platform,
    node: StageNode,
    images: dict[str, tuple[str, str]],
    client: HarborClient | None = None,
    *,
    credentials: tuple[str, str] | None = None,
) -> Gate | None:
    """Harbor's current reports of ``images`` (service -> (repository, digest)) against the threshold.

    None for an auto stage (not re-checked). ``client`` defaults to Harbor at ``registry.url`` with
    ``credentials`` (the CLI reads them as ``shipyard harbor`` does, from SHIPYARD_HARBOR_USERNAME/PASSWORD).
    """
    if node.auto:
        return None
    registry = platform.registry
    if registry.kind != "harbor":
        return Gate(NAME, True, f"not checked: registry does not scan (registry.kind: {registry.kind})")
    from shipyard.registry.harbor.client import HarborClient  # the HTTP stack only where Harbor is

    threshold = Severity.parse(registry.scan.severity_threshold)
    own = client is None
    harbor = client if client is not None else HarborClient(registry.url, credentials)
    try:
        problems = [
            problem
            for service, (image, digest) in sorted(images.items())
            if (problem := _check(harbor, service, image, digest, threshold)) is not None
        ]
    except ShipyardError as exc:  # Harbor unreachable or refusing: no report read, so nothing is known clean
        hint = f" ({exc.hint})" if exc.hint else ""
        return Gate(NAME, False, f"{node.name}: could not read the vulnerability reports: {exc.message}{hint}")
    finally:
        if own:
            harbor.close()
    if problems:
        return Gate(NAME, False, f"{node.name} takes no freight with unresolved findings: " + "; ".join(problems))
    return Gate(NAME, True, f"no finding at or above {threshold.label} in {len(images)} digest(s)")


def _check(client: HarborClient, service: str, image: str, digest: str, threshold: Severity) -> str | None:
    """Why ``service``'s digest blocks, or None when it passes."""
    from shipyard.registry.harbor.vulnerabilities import vulnerability_report

    ref = parse_reference(f"{image}@{digest}")
    project, _, repository = ref.repository.partition("/")
    if not repository:
        raise ShipyardError(f"{service}: image '{image}' names no Harbor project and repository")
    where = f"{service} {digest[:19]}"
    report = vulnerability_report(client, project, repository, digest)
    if not report.scanned:
        return f"{where} has not been scanned (Harbor has no report); unknown is not clean"
    try:
        result = evaluate([parse_report(report.reports, report.reference)], threshold=threshold)
    except ScanInputError as exc:
        return f"{where}: the report cannot be gated on: {exc}"
    if result.passed:
        return None
    totals = result.totals
    counts = ", ".join(f"{s.label} {totals[s]}" for s in SEVERITY_ORDER if totals[s])
    ids = sorted({h.finding.id for h in result.blocking})
    shown = ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
    return f"{where} has findings at or above {threshold.label} ({counts}){': ' + shown if shown else ''}"
