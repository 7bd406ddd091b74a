"""The gate's decision: which findings block, which are accepted, and which allow-list entries lapsed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from shipyard.scan.allowlist import AllowEntry, Allowlist
from shipyard.scan.model import SEVERITY_ORDER, Finding, Report, Severity


@dataclass(frozen=True)
class Hit:
    """A finding at or above the threshold, where it was found, and the entry that accepts it (if any)."""

    report: str
    target: str
    finding: Finding
    entry: AllowEntry | None = None

    def to_json(self) -> dict[str, Any]:
        """The finding as JSON data."""
        data: dict[str, Any] = {
            "report": self.report,
            "target": self.target,
            "id": self.finding.id,
            "package": self.finding.package,
            "installed": self.finding.installed,
            "fixed": self.finding.fixed or None,
            "severity": self.finding.severity.label,
        }
        if self.entry is not None:  # on a blocking hit: the entry that expired
            data["reason"] = self.entry.reason
            data["expires"] = self.entry.expires.isoformat()
        return data


@dataclass(frozen=True)
class TargetSummary:
    """Counts per severity of one target, after ``--ignore-unfixed``, and how many of them block."""

    report: str
    target: str
    counts: dict[Severity, int]
    blocking: int
    counts_only: bool = False


@dataclass
class GateResult:
    """Everything the summaries print; ``passed`` is the answer."""

    threshold: Severity
    ignore_unfixed: bool
    targets: list[TargetSummary] = field(default_factory=list)
    blocking: list[Hit] = field(default_factory=list)
    allowed: list[Hit] = field(default_factory=list)
    expired: list[AllowEntry] = field(default_factory=list)
    ignored_unfixed: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when nothing at or above the threshold remains."""
        return not self.blocking and all(t.blocking == 0 for t in self.targets if t.counts_only)

    @property
    def totals(self) -> dict[Severity, int]:
        """Counts per severity over every target."""
        totals = dict.fromkeys(SEVERITY_ORDER, 0)
        for target in self.targets:
            for severity, number in target.counts.items():
                totals[severity] += number
        return totals

    def to_json(self) -> dict[str, Any]:
        """The result as JSON data (the shape documented in docs/ci.md)."""

        def counts(values: dict[Severity, int]) -> dict[str, int]:
            return {s.label: values.get(s, 0) for s in SEVERITY_ORDER}

        return {
            "passed": self.passed,
            "threshold": self.threshold.label,
            "ignoreUnfixed": self.ignore_unfixed,
            "totals": counts(self.totals),
            "targets": [
                {"report": t.report, "target": t.target, "counts": counts(t.counts), "blocking": t.blocking}
                for t in self.targets
            ],
            "blocking": [h.to_json() for h in self.blocking],
            "allowed": [h.to_json() for h in self.allowed],
            "expiredAllowlistEntries": [
                {"id": e.id, "reason": e.reason, "expires": e.expires.isoformat()} for e in self.expired
            ],
            "ignoredUnfixed": self.ignored_unfixed,
            "notes": self.notes,
        }


def evaluate(
    reports: list[Report],
    *,
    threshold: Severity = Severity.HIGH,
    ignore_unfixed: bool = False,
    allowlist: Allowlist | None = None,
    today: dt.date | None = None,
) -> GateResult:
    """Decide the gate over all reports: it fails when any finding at or above ``threshold`` is not accepted."""
    today = today or dt.date.today()
    result = GateResult(threshold=threshold, ignore_unfixed=ignore_unfixed)
    for report in reports:
        for target in report.targets:
            if target.counts is not None:
                result.targets.append(_counts_only(report, target.name, target.counts, threshold, result))
                continue
            counts: dict[Severity, int] = {}
            blocking = 0
            for finding in target.findings:
                if ignore_unfixed and not finding.fixable:
                    result.ignored_unfixed += 1
                    continue
                counts[finding.severity] = counts.get(finding.severity, 0) + 1
                if finding.severity < threshold:
                    continue
                entry = allowlist.match(target.name, finding) if allowlist else None
                if entry is not None and not entry.expired(today):
                    result.allowed.append(Hit(report.path, target.name, finding, entry))
                else:
                    blocking += 1  # an expired entry stays on the hit, so the summary can say it lapsed
                    result.blocking.append(Hit(report.path, target.name, finding, entry))
            result.targets.append(TargetSummary(report.path, target.name, counts, blocking))
    result.expired = [e for e in allowlist.entries if e.expired(today)] if allowlist else []
    if result.expired:
        result.notes.append(
            f"{len(result.expired)} allow-list entr{'y has' if len(result.expired) == 1 else 'ies have'} expired "
            "and no longer appl" + ("ies" if len(result.expired) == 1 else "y")
        )
    return result


def _counts_only(
    report: Report, name: str, counts: dict[Severity, int], threshold: Severity, result: GateResult
) -> TargetSummary:
    # Harbor's scan overview carries only totals: no IDs to allow-list, no per-finding fix status.
    blocking = sum(n for s, n in counts.items() if s >= threshold)
    note = f"{report.path}: Harbor's scan overview has counts only; the allow-list"
    if result.ignore_unfixed:
        note += " and --ignore-unfixed"
    note += " cannot apply to it"
    if note not in result.notes:
        result.notes.append(note)
    return TargetSummary(report.path, name, dict(counts), blocking, counts_only=True)
