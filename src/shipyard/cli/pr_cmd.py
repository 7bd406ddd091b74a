"""``shipyard pr comment``: the pull request's one Shipyard comment, and a change request when the gate fails."""

from __future__ import annotations

from pathlib import Path

import typer

from shipyard.cli import options
from shipyard.cli.output import Format, chosen, emit_plan, is_machine, json_option, output_option, say


def register(app: typer.Typer) -> None:
    """Add the ``pr`` command group."""
    group = typer.Typer(help="Pull request feedback through GitHub's API.", no_args_is_help=True)
    group.command("comment")(comment)
    app.add_typer(group, name="pr")


def comment(
    repo: str = typer.Option(..., "--repo", help="owner/name of the repository."),
    pr: int = typer.Option(..., "--pr", min=1, help="The pull request number."),
    scan: list[Path] = typer.Option([], "--scan", help="Scan reports to gate on (repeatable)."),
    threshold: str = typer.Option("high", "--threshold", help="Lowest severity that fails the gate."),
    ignore_unfixed: bool = typer.Option(False, "--ignore-unfixed", help="Skip findings without a fix."),
    allowlist: Path | None = typer.Option(None, "--allowlist", help="Accepted findings (see `scan gate`)."),
    affected: Path | None = typer.Option(None, "--affected", help="`shipyard affected --format matrix` output."),
    preview_url: list[str] = typer.Option([], "--preview-url", help="A preview URL to show (repeatable)."),
    pipeline_status: str | None = typer.Option(None, "--pipeline-status", help="Tekton's $(tasks.status)."),
    token_file: Path | None = typer.Option(None, "--token-file", help="File with the GitHub token."),
    github_token: str | None = options.GITHUB_TOKEN,
    api_url: str = options.GITHUB_API_URL,
    dry_run: bool = typer.Option(False, "--dry-run", help="Read the PR and print what would change."),
    output: Format = output_option(),
    as_json: bool = json_option("Print the plan as JSON (the same as -o json)."),
) -> None:
    """Post or update the Shipyard comment on a PR; request changes when the gate fails, dismiss when it passes."""
    from shipyard.ci.batches import read_matrix
    from shipyard.github.client import GitHubClient, load_token
    from shipyard.github.feedback import Feedback, apply_feedback, plan_feedback
    from shipyard.scan import ScanInputError, Severity, evaluate, load_allowlist, load_report

    fmt = chosen(output, as_json)
    if threshold.upper() not in Severity.__members__ or threshold.upper() == "NONE":
        raise typer.BadParameter("valid: unknown, low, medium, high, critical", param_hint="--threshold")
    feedback = Feedback(
        affected=read_matrix(affected) if affected else None,
        previews=list(preview_url),
        pipeline_status=pipeline_status,
    )
    reports = []
    for path in scan:
        try:
            reports.append(load_report(path))
        except ScanInputError as exc:
            feedback.scan_errors.append(str(exc))  # an unreadable report fails the gate, in the comment too
    if reports and not feedback.scan_errors:
        feedback.gate = evaluate(
            reports,
            threshold=Severity[threshold.upper()],
            ignore_unfixed=ignore_unfixed,
            allowlist=load_allowlist(allowlist) if allowlist else None,
        )
    client = GitHubClient(token=load_token(token_file, github_token), api_url=api_url)
    plan = plan_feedback(client, repo, pr, feedback)
    if not dry_run:
        apply_feedback(client, repo, pr, feedback, plan)
    emit_plan(plan, fmt)
    if feedback.gate_failed and not is_machine(fmt) and not dry_run:
        say("the vulnerability gate failed: changes are requested on the pull request")
