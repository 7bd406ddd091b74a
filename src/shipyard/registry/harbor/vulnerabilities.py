"""An artifact's vulnerability report from Harbor, for the scan gate.

Harbor answers ``{}`` when the artifact has not been scanned (yet): that is "unknown", never "clean".
The answer is decoded and read by the scan gate's own strict parser, so a report Harbor serves is held to
the same rules as a report file: duplicate keys, a null vulnerability list or a severity nobody knows
are errors, never a clean result.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from shipyard.registry.harbor.client import HarborClient, repository_path
from shipyard.scan.parse import ScanInputError, decode_json, parse_report


@dataclass(frozen=True)
class VulnerabilityReport:
    """The reports by MIME type as Harbor returned them, and whether there was any scan at all."""

    reference: str
    reports: dict[str, Any] = field(default_factory=dict)

    @property
    def scanned(self) -> bool:
        """False for Harbor's ``{}`` (or reports without a vulnerability list): not scanned."""
        return any(isinstance(r, dict) and isinstance(r.get("vulnerabilities"), list) for r in self.reports.values())

    def counts(self) -> dict[str, int]:
        """Vulnerabilities by severity (Harbor's words: Critical, High, ...), over every report.

        ScanInputError when a report is not understood: nothing the gate would refuse is counted here.
        """
        if not self.reports:
            return {}
        parse_report(self.reports, self.reference)
        found: Counter[str] = Counter()
        for report in self.reports.values():
            for item in report.get("vulnerabilities") or []:
                found[item["severity"]] += 1
        return dict(sorted(found.items()))

    def to_json(self) -> dict[str, Any]:
        """JSON-ready: scanned, counts, and the raw reports for the gate to parse."""
        return {"reference": self.reference, "scanned": self.scanned, "counts": self.counts(), "reports": self.reports}


def vulnerability_report(client: HarborClient, project: str, repository: str, reference: str) -> VulnerabilityReport:
    """GET the artifact's vulnerabilities addition; ScanInputError when Harbor's answer is not understood."""
    path = f"{repository_path(project, repository)}/artifacts/{reference}/additions/vulnerabilities"
    where = f"{project}/{repository}@{reference}"
    data = decode_json(client.call("GET", path).content, f"Harbor's report of {where}")
    if not isinstance(data, dict):
        raise ScanInputError(f"Harbor's report of {where}: expected a JSON object, found {type(data).__name__}")
    return VulnerabilityReport(where, data)
