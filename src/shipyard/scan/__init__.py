"""The vulnerability gate: Trivy and Harbor reports in, a pass/fail answer and its summaries out."""

from shipyard.scan.allowlist import AllowEntry, Allowlist, load_allowlist
from shipyard.scan.gate import GateResult, evaluate
from shipyard.scan.model import Finding, Report, Severity, Target
from shipyard.scan.parse import ScanInputError, load_report

__all__ = [
    "AllowEntry",
    "Allowlist",
    "Finding",
    "GateResult",
    "Report",
    "ScanInputError",
    "Severity",
    "Target",
    "evaluate",
    "load_allowlist",
    "load_report",
]
