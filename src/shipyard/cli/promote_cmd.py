"""``shipyard promote`` and ``shipyard rollback``: freight moves through the stage graph; on a platform that runs
on a cluster, Argo CD is asked to sync what was committed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from shipyard.cli import options
from shipyard.cli.output import Format, chosen, emit, exit_with, is_machine, json_option, output_option, say
from shipyard.errors import ShipyardError

if TYPE_CHECKING:
    from shipyard.promotion.argocd_sync import ArgoCDSync
    from shipyard.promotion.executor import Outcome
    from shipyard.promotion.gates import GateRefused
    from shipyard.spec.model import Platform

_KUBECONFIG = typer.Option(
    None,
    "--kubeconfig",
    help="The kubeconfig of the cluster Argo CD runs in (default: in a pod its account, else ~/.kube/config).",
)
_CONTEXT = typer.Option(None, "--context", help="The kubeconfig context of the cluster Argo CD runs in.")
_SYNC_TIMEOUT = typer.Option(300.0, "--sync-timeout", min=1, help="Seconds to wait for Argo CD's answer to a sync.")


def register(app: typer.Typer) -> None:
    """Add the ``promote`` and ``rollback`` commands."""
    app.command("promote")(promote)
    app.command("rollback")(rollback)


def promote(
    to: str | None = typer.Option(None, "--to", help="The stage to promote into (dev, staging, uat, ...)."),
    freight: str | None = typer.Option(None, "--freight", help="The freight id (or a unique prefix)."),
    version: str | None = typer.Option(None, "--version", help="The freight's version."),
    auto: bool = typer.Option(False, "--auto", help="Promote new freight into every auto stage whose upstream has it."),
    approve: bool = typer.Option(
        False, "--approve", help="Approve a manual stage: your approval is recorded, then counted with the others."
    ),
    approver: str | None = options.APPROVER,
    comment: str | None = typer.Option(None, "--comment", help="A comment recorded with your approval."),
    app_repo: Path | None = options.APP_REPO,
    config_repo: str | None = options.CONFIG_REPO,
    root: Path = typer.Option(Path(), "--root", help="A folder inside the workspace."),
    harbor_username: str | None = options.HARBOR_USERNAME,
    harbor_password: str | None = options.HARBOR_PASSWORD,
    registry_username: str | None = options.REGISTRY_USERNAME,
    registry_password: str | None = options.REGISTRY_PASSWORD,
    kubeconfig: Path | None = _KUBECONFIG,
    context: str | None = _CONTEXT,
    sync_timeout: float = _SYNC_TIMEOUT,
    dry_run: bool = typer.Option(False, "--dry-run", help="Check the gates and print the plan; change nothing."),
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """Promote freight into a stage after its gates (maturity, upstream, stable tag, approval, vulnerabilities).

    Exit 1 if refused. With people listed in shipyard.yaml, --approve records your approval first, and the
    promotion follows once the stage's required approvals are in. Manual stages re-read Harbor's
    vulnerability reports (with the Harbor credentials). When the platform runs on a cluster, Argo CD is
    asked to sync the stage's Applications; exit 1 when it did not deploy the promotion.
    """
    from shipyard.cli.context import load_context
    from shipyard.promotion.executor import promote as run_promote
    from shipyard.promotion.executor import promote_auto
    from shipyard.promotion.gates import GateRefused
    from shipyard.promotion.people import Directory, approver_text, git_identity

    fmt = chosen(output, as_json)
    if auto == (to is not None):
        raise ShipyardError("use either --auto, or --to STAGE with --freight ID or --version V")
    if to is not None and (freight is None) == (version is None):
        raise ShipyardError("name the freight with exactly one of --freight ID or --version V")
    credentials = options.registry_credentials(registry_username, registry_password)
    ctx = load_context(root, config_repo, registry_credentials=credentials)
    name = approver_text(Directory.of(ctx.platform), approver, git_identity(root)) if approve else None
    argocd = _argocd(ctx.platform, kubeconfig, context, sync_timeout, name, dry_run)
    try:
        if auto:
            _report(promote_auto(ctx.platform, ctx.config_repo, ctx.tags, dry_run=dry_run, argocd=argocd), fmt)
            return
        assert to is not None
        outcome = run_promote(
            ctx.platform,
            ctx.config_repo,
            to,
            ctx.tags,
            freight=freight,
            version=version,
            approve=approve,
            approver=name,
            comment=comment,
            dry_run=dry_run,
            harbor_credentials=options.harbor_credentials(harbor_username, harbor_password),
            app_repo=app_repo if app_repo is not None else ctx.root,
            argocd=argocd,
        )
    except GateRefused as refused:
        report_refusal(refused, fmt, f"promotion to {to} did not happen")
        return
    finally:
        ctx.close()
        if argocd is not None:
            argocd.api.close()
    _report(outcome, fmt)


def rollback(
    env: str = typer.Option(..., "--env", help="The environment to roll back."),
    to: str | None = typer.Option(None, "--to", help="A version the environment ran before; default: the previous."),
    approver: str | None = options.APPROVER,
    config_repo: str | None = options.CONFIG_REPO,
    root: Path = typer.Option(Path(), "--root", help="A folder inside the workspace."),
    kubeconfig: Path | None = _KUBECONFIG,
    context: str | None = _CONTEXT,
    sync_timeout: float = _SYNC_TIMEOUT,
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan; change nothing."),
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """Return ENV to an earlier freight it ran, as a new commit (history is never rewritten); on a cluster,
    Argo CD is asked to sync it (exit 1 when it did not deploy it)."""
    from shipyard.cli.context import load_context
    from shipyard.promotion.executor import approver_name
    from shipyard.promotion.executor import rollback as run_rollback

    fmt = chosen(output, as_json)
    ctx = load_context(root, config_repo)
    actor = approver_name(root, approver)
    argocd = _argocd(ctx.platform, kubeconfig, context, sync_timeout, actor, dry_run)
    try:
        outcome = run_rollback(ctx.platform, ctx.config_repo, env, to=to, actor=actor, dry_run=dry_run, argocd=argocd)
    finally:
        if argocd is not None:
            argocd.api.close()
    _report(outcome, fmt)


def _argocd(
    platform: Platform, kubeconfig: Path | None, context: str | None, timeout: float, actor: str | None, dry_run: bool
) -> ArgoCDSync | None:
    """Argo CD, reached before anything is committed, when the platform runs on a cluster; None otherwise."""
    from shipyard.k8s.api import KubeApi
    from shipyard.k8s.kubeconfig import load_connection
    from shipyard.promotion.argocd_sync import ArgoCDSync, describes_cluster

    if not describes_cluster(platform):
        if kubeconfig or context:
            raise ShipyardError(
                "--kubeconfig and --context reach Argo CD, and this platform's config repo is a local path no "
                "cluster reads"
            )
        return None
    if dry_run:
        return None
    return ArgoCDSync(KubeApi(load_connection(kubeconfig, context)), actor=actor or "shipyard", timeout=timeout)


def report_refusal(refused: GateRefused, fmt: Format, what: str) -> None:
    """Print every gate of a refusal (or its JSON) and exit 1."""
    if is_machine(fmt):
        emit(refused.to_json(), fmt)
    else:
        for gate in refused.gates:
            say(f"  {'ok ' if gate.passed else 'NO '} {gate.name}: {gate.reason}")
        say(f"refused: {what}")
    exit_with(1)


def _report(outcome: Outcome, fmt: Format) -> None:
    """Print the outcome; exit 1 when Argo CD was asked to sync and did not deploy it (the commit stays)."""
    if is_machine(fmt):
        emit(outcome.to_json(), fmt)
    else:
        for move in outcome.moves:
            for gate in move.gates:
                say(f"  ok  {gate.name}: {gate.reason}")
        print(outcome.plan.to_text())
        for move in outcome.moves:
            if move.commit:
                print(f"{move.subject}: {move.commit[:12]}")
            for answer in move.syncs:
                print(f"  asked Argo CD to sync {answer.application}; {answer.line()}")
        if not outcome.moves and not outcome.plan.notes:
            say("nothing to promote")
    if not outcome.synced:
        say("the commit is pushed, but Argo CD did not deploy it: see its answer above")
        exit_with(1)
