"""``shipyard approvals``: decisions on manual stages (list, approve, reject) and people's tokens for serve."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

from shipyard.cli import options
from shipyard.cli.output import Format, chosen, emit, emit_plan, is_machine, json_option, output_option, say

ROOT = typer.Option(Path(), "--root", help="A folder inside the workspace.")


def register(app: typer.Typer) -> None:
    """Add the ``approvals`` command group."""
    group = typer.Typer(
        help="Approvals of manual stages: who decided what, recorded as commits in the config repo.",
        no_args_is_help=True,
    )
    group.command("list")(list_approvals)
    group.command("approve")(approve)
    group.command("reject")(reject)
    tokens = typer.Typer(
        help="People's API tokens for shipyard serve on one machine (only their hashes are stored).",
        no_args_is_help=True,
    )
    tokens.command("add")(token_add)
    tokens.command("revoke")(token_revoke)
    group.add_typer(tokens, name="token")
    app.add_typer(group, name="approvals")


def list_approvals(
    stage: str | None = typer.Option(None, "--stage", help="Only this stage."),
    config_repo: str | None = options.CONFIG_REPO,
    app_repo: Path | None = options.APP_REPO,
    root: Path = ROOT,
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """Freight waiting for decisions on manual stages: who approved or rejected it, and how many more are needed."""
    from shipyard.cli.context import load_context
    from shipyard.promotion.decide import approval_queue
    from shipyard.promotion.ledger import read_ledger

    fmt = chosen(output, as_json)
    ctx = load_context(root, config_repo)
    queue = approval_queue(ctx.platform, read_ledger(ctx.config_repo), app_repo if app_repo is not None else ctx.root)
    if stage is not None:
        from shipyard.stages.graph import build_graph

        build_graph(ctx.platform).stage(stage)  # an unknown stage is an error, not an empty list
        queue = type(queue)(queue.for_stage(stage))
    if is_machine(fmt):
        emit(queue.to_json(), fmt)
        return
    if not queue.waiting:
        print("nothing waits for a decision")
    for item in queue.waiting:
        print(f"{item.policy.stage:<12} {item.version:<32} {item.freight[:12]}  {item.summary()}")
        if item.rejection is None and item.missing:
            print(f"{'':<12} needs {item.missing} more from: {item.policy.description}")
        for decision, why in item.ignored:
            print(f"{'':<12} not counted: {decision.person}'s {decision.decision} ({why})")


def approve(
    to: str = typer.Option(..., "--to", help="The manual stage."),
    freight: str | None = typer.Option(None, "--freight", help="The freight id (or a unique prefix)."),
    version: str | None = typer.Option(None, "--version", help="The freight's version."),
    approver: str | None = options.APPROVER,
    comment: str | None = typer.Option(None, "--comment", help="Why: recorded in the commit's message."),
    config_repo: str | None = options.CONFIG_REPO,
    app_repo: Path | None = options.APP_REPO,
    root: Path = ROOT,
    dry_run: bool = typer.Option(False, "--dry-run", help="Check and print the plan; change nothing."),
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """Record your approval of a freight for a manual stage (a commit), without promoting it.

    Exit 1 when you may not approve it (not an approver, the four-eyes rule, rejected already).
    `shipyard promote --approve` records an approval the same way and then promotes.
    """
    _decide("approve", to, freight, version, approver, comment, config_repo, app_repo, root, dry_run, output, as_json)


def reject(
    to: str = typer.Option(..., "--to", help="The manual stage."),
    freight: str | None = typer.Option(None, "--freight", help="The freight id (or a unique prefix)."),
    version: str | None = typer.Option(None, "--version", help="The freight's version."),
    approver: str | None = options.APPROVER,
    comment: str | None = typer.Option(None, "--comment", help="Why: recorded in the commit's message."),
    config_repo: str | None = options.CONFIG_REPO,
    app_repo: Path | None = options.APP_REPO,
    root: Path = ROOT,
    dry_run: bool = typer.Option(False, "--dry-run", help="Check and print the plan; change nothing."),
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """Reject a freight for a manual stage (a commit): that freight never enters the stage; a new one may.

    Exit 1 when you may not decide on the stage.
    """
    _decide("reject", to, freight, version, approver, comment, config_repo, app_repo, root, dry_run, output, as_json)


def _decide(
    decision: Literal["approve", "reject"],
    to: str,
    freight: str | None,
    version: str | None,
    approver: str | None,
    comment: str | None,
    config_repo: str | None,
    app_repo: Path | None,
    root: Path,
    dry_run: bool,
    output: Format,
    as_json: bool,
) -> None:
    from shipyard.cli.context import load_context
    from shipyard.cli.promote_cmd import report_refusal
    from shipyard.errors import ShipyardError
    from shipyard.promotion.decide import decide
    from shipyard.promotion.gates import GateRefused
    from shipyard.promotion.people import Directory, approver_text, git_identity

    fmt = chosen(output, as_json)
    if (freight is None) == (version is None):
        raise ShipyardError("name the freight with exactly one of --freight ID or --version V")
    ctx = load_context(root, config_repo)
    who = approver_text(Directory.of(ctx.platform), approver, git_identity(root))
    try:
        done = decide(
            ctx.platform,
            ctx.config_repo,
            to,
            decision,
            who,
            freight=freight,
            version=version,
            comment=comment,
            app_repo=app_repo if app_repo is not None else ctx.root,
            dry_run=dry_run,
        )
    except GateRefused as refused:
        report_refusal(refused, fmt, f"nothing was recorded for {to}")
        return
    if is_machine(fmt):
        emit(done.to_json(), fmt)
        return
    emit_plan(done.plan, fmt)
    if done.commit:
        say(f"{done.decision.subject} by {done.decision.person}: {done.commit[:12]}")
    say(f"{to}: {done.tally.summary()}")


def token_add(
    person: str = typer.Argument(..., help="The person (an id under people in shipyard.yaml)."),
    root: Path = ROOT,
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """Make an API token for PERSON: it is printed once; only its hash is kept (identity.tokens.file)."""
    from shipyard.cli.context import load_context
    from shipyard.promotion.tokens import issue_token

    fmt = chosen(output, as_json)
    ctx = load_context(root)
    issued = issue_token(ctx.platform, ctx.root, person)
    if is_machine(fmt):
        emit(issued.to_json(), fmt)
        return
    print(issued.token)
    say(f"the token of {person} is shown once; its hash is in {issued.path}")


def token_revoke(
    person: str = typer.Argument(..., help="The person whose tokens stop working."),
    root: Path = ROOT,
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """Remove every token of PERSON from the tokens file."""
    from shipyard.cli.context import load_context
    from shipyard.promotion.tokens import revoke_tokens

    fmt = chosen(output, as_json)
    ctx = load_context(root)
    revoked = revoke_tokens(ctx.platform, ctx.root, person)
    if is_machine(fmt):
        emit(revoked.to_json(), fmt)
        return
    say(f"revoked {revoked.count} token{'s' if revoked.count != 1 else ''} of {person} in {revoked.path}")
