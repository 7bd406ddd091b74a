"""An artifact's vulnerability report from Harbor, for the scan gate.

Harbor answers ``{}`` when the artifact has not been scanned (yet): that is "unknown", never "clean".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from shipyard.registry.harbor.client import HarborClient, repository_path


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
        """Vulnerabilities by severity (Harbor's words: Critical, High, ...), over every report."""
        found: Counter[str] = Counter()
        for report in self.reports.values():
            if isinstance(report, dict):
                for item in report.get("vulnerabilities") or []:
                    if isinstance(item, dict):
                        found[str(item.get("severity") or "Unknown")] += 1
        return dict(sorted(found.items()))

    def to_json(self) -> dict[str, Any]:
        """JSON-ready: scanned, counts, and the raw reports for the gate to parse."""
        return {"reference": self.reference, "scanned": self.scanned, "counts": self.counts(), "reports": self.reports}


def vulnerability_report(client: HarborClient, project: str, repository: str, reference: str) -> VulnerabilityReport:
    """GET the artifact's vulnerabilities addition."""
    path = f"{repository_path(project, repository)}/artifacts/{reference}/additions/vulnerabilities"
    data = client.get_json(path)
    return VulnerabilityReport(f"{project}/{repository}@{reference}", data if isinstance(data, dict) else {})
