"""``shipyard scan gate``: fail the pipeline when a report holds vulnerabilities nobody accepted."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from shipyard.cli.output import emit_json, exit_with


class Threshold(StrEnum):
    """The lowest severity that fails the gate."""

    unknown = "unknown"
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class Format(StrEnum):
    """How the summary is printed."""

    text = "text"
    json = "json"
    markdown = "markdown"


def register(app: typer.Typer) -> None:
    """Add the ``scan`` command group."""
    group = typer.Typer(help="Vulnerability reports: the gate and its summaries.", no_args_is_help=True)
    group.command("gate")(gate)
    app.add_typer(group, name="scan")


def gate(
    reports: list[Path] = typer.Argument(..., help="Trivy JSON (SchemaVersion 2) or Harbor vulnerability reports."),
    threshold: Threshold = typer.Option(Threshold.high, "--threshold", help="Lowest severity that fails the gate."),
    ignore_unfixed: bool = typer.Option(False, "--ignore-unfixed", help="Skip findings that have no fixed version."),
    allowlist: Path | None = typer.Option(
        None, "--allowlist", help="YAML list of {id, reason, expires[, package, target]} accepted findings."
    ),
    output: Format = typer.Option(Format.text, "--format", help="text, json, or markdown (a PR comment)."),
) -> None:
    """Exit 0 when no finding at or above the threshold remains, 1 when one does, 2 when a report is unusable."""
    from shipyard.scan import Severity, evaluate, load_allowlist, load_report
    from shipyard.scan.summary import format_markdown, format_text

    parsed = [load_report(path) for path in reports]
    accepted = load_allowlist(allowlist) if allowlist else None
    result = evaluate(
        parsed, threshold=Severity[threshold.value.upper()], ignore_unfixed=ignore_unfixed, allowlist=accepted
    )
    if output is Format.json:
        emit_json(result.to_dict())
    elif output is Format.markdown:
        print(format_markdown(result), end="")
    else:
        print(format_text(result))
    exit_with(0 if result.passed else 1)
