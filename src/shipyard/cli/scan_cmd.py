"""``shipyard scan gate``: fail the pipeline when a report holds vulnerabilities nobody accepted."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from shipyard.cli.output import Format, emit, exit_with, json_option


class Threshold(StrEnum):
    """The lowest severity that fails the gate."""

    unknown = "unknown"
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class GateFormat(StrEnum):
    """How the summary is printed: the common formats, plus markdown for a PR comment."""

    table = "table"
    json = "json"
    yaml = "yaml"
    markdown = "markdown"
    text = "text"  # the older name of table, still accepted by --format


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
    output: GateFormat = typer.Option(
        GateFormat.table,
        "-o",
        "--output",
        "--format",
        help="table (for people, the default), json, yaml (the same data as json) or markdown (a PR comment). "
        "--format is the older name; it also takes text (= table).",
        case_sensitive=False,
    ),
    as_json: bool = json_option(),
) -> None:
    """Exit 0 when no finding at or above the threshold remains, 1 when one does, 2 when a report is unusable."""
    from shipyard.errors import ShipyardError
    from shipyard.scan import Severity, evaluate, load_allowlist, load_report
    from shipyard.scan.summary import format_markdown, format_text

    if as_json and output not in (GateFormat.table, GateFormat.text, GateFormat.json):
        raise ShipyardError(f"--json and -o {output.value} ask for different formats; give one of them")
    fmt = GateFormat.json if as_json else output
    parsed = [load_report(path) for path in reports]
    accepted = load_allowlist(allowlist) if allowlist else None
    result = evaluate(
        parsed, threshold=Severity[threshold.value.upper()], ignore_unfixed=ignore_unfixed, allowlist=accepted
    )
    if fmt in (GateFormat.json, GateFormat.yaml):
        emit(result.to_json(), Format(fmt.value))
    elif fmt is GateFormat.markdown:
        print(format_markdown(result), end="")
    else:
        print(format_text(result))
    exit_with(0 if result.passed else 1)
