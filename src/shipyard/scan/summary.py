"""The gate's result for people: a terminal summary and a markdown PR comment."""

from __future__ import annotations

from shipyard.scan.gate import GateResult, Hit
from shipyard.scan.model import SEVERITY_ORDER

# Harbor's "None" severity is never shown as a column: no scanner we read emits it per finding.
_COLUMNS = tuple(s for s in SEVERITY_ORDER if s.name != "NONE")
MAX_LISTED = 50


def _verdict(result: GateResult) -> str:
    if result.passed:
        return f"PASSED: nothing at or above {result.threshold.label} that is not allow-listed"
    return f"FAILED: {_blocking_count(result)} finding(s) at or above {result.threshold.label}"


def _blocking_count(result: GateResult) -> int:
    return len(result.blocking) + sum(t.blocking for t in result.targets if t.counts_only)


def _hit_line(hit: Hit) -> str:
    f = hit.finding
    fixed = f"fixed in {f.fixed}" if f.fixed else "no fix yet"
    return f"{f.severity.label:<8} {f.id} {f.package} {f.installed} ({fixed}) in {hit.target}"


def format_text(result: GateResult) -> str:
    """A table per target and severity, then what blocks, what is accepted, and lapsed exceptions."""
    header = ["target", *(s.label for s in _COLUMNS)]
    rows = [[t.target, *(str(t.counts.get(s, 0)) for s in _COLUMNS)] for t in result.targets]
    totals = result.totals
    rows.append(["total", *(str(totals.get(s, 0)) for s in _COLUMNS)])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in [header, *rows]]
    if result.blocking:
        lines += ["", "blocking:"]
        for hit in result.blocking[:MAX_LISTED]:
            lapsed = f" (allow-list entry expired {hit.entry.expires})" if hit.entry else ""
            lines.append(f"  {_hit_line(hit)}{lapsed}")
        if len(result.blocking) > MAX_LISTED:
            lines.append(f"  ... and {len(result.blocking) - MAX_LISTED} more")
    if result.allowed:
        lines += ["", "allow-listed:"]
        for hit in result.allowed[:MAX_LISTED]:
            if hit.entry is not None:
                lines.append(f"  {_hit_line(hit)}: {hit.entry.reason} (until {hit.entry.expires})")
    if result.expired:
        lines += ["", "expired allow-list entries (no longer applied):"]
        lines += [f"  {e.id} expired {e.expires}: {e.reason}" for e in result.expired]
    if result.ignored_unfixed:
        lines += ["", f"{result.ignored_unfixed} finding(s) without a fix ignored (--ignore-unfixed)"]
    lines += [f"note: {n}" for n in result.notes]
    lines += ["", _verdict(result)]
    return "\n".join(lines)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def format_markdown(result: GateResult) -> str:
    """The PR comment body: verdict first, the per-target table, then details a reviewer acts on."""
    icon = "✅" if result.passed else "❌"
    lines = [f"### {icon} Vulnerability gate {'passed' if result.passed else 'failed'}", ""]
    lines.append(f"Threshold: **{result.threshold.label}**" + (", unfixed ignored" if result.ignore_unfixed else ""))
    lines += ["", "| target | " + " | ".join(s.label for s in _COLUMNS) + " |"]
    lines.append("|---" * (len(_COLUMNS) + 1) + "|")
    for t in result.targets:
        lines.append(f"| `{_md_escape(t.target)}` | " + " | ".join(str(t.counts.get(s, 0)) for s in _COLUMNS) + " |")
    totals = result.totals
    lines.append("| **total** | " + " | ".join(f"**{totals.get(s, 0)}**" for s in _COLUMNS) + " |")
    if result.blocking:
        lines += ["", "<details open><summary>Blocking findings</summary>", ""]
        lines += ["| severity | id | package | installed | fixed | target |", "|---|---|---|---|---|---|"]
        for hit in result.blocking[:MAX_LISTED]:
            f = hit.finding
            lines.append(
                f"| {f.severity.label} | {_md_escape(f.id)} | {_md_escape(f.package)} | {_md_escape(f.installed)} "
                f"| {_md_escape(f.fixed) or '—'} | `{_md_escape(hit.target)}` |"
            )
        if len(result.blocking) > MAX_LISTED:
            lines.append(f"\n… and {len(result.blocking) - MAX_LISTED} more")
        lines += ["", "</details>"]
    if result.allowed:
        lines += ["", "<details><summary>Allow-listed</summary>", ""]
        for hit in result.allowed[:MAX_LISTED]:
            if hit.entry is not None:
                lines.append(
                    f"- {hit.finding.id} ({hit.finding.package}): {_md_escape(hit.entry.reason)}, "
                    f"until {hit.entry.expires}"
                )
        lines += ["", "</details>"]
    if result.expired:
        lines += ["", "**Expired allow-list entries** (no longer applied):", ""]
        lines += [f"- {e.id}, expired {e.expires}: {_md_escape(e.reason)}" for e in result.expired]
    for note in result.notes:
        lines += ["", f"> {_md_escape(note)}"]
    return "\n".join(lines) + "\n"
