"""``shipyard preview up/down/list/gc``: per-pull-request environments, kept in the config repo."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from shipyard.cli import options
from shipyard.cli.output import Format, chosen, emit, emit_plan, exit_with, is_machine, json_option, output_option, say
from shipyard.errors import ShipyardError

if TYPE_CHECKING:
    from shipyard.github.client import GitHubClient, GitHubError
    from shipyard.plan.progress import Progress
    from shipyard.previews.repo import CommentOutcome
    from shipyard.spec.model import Platform

_ROOT = typer.Option(Path(), "--root", help="A folder inside the workspace (where shipyard.yaml is found).")
_NOW = typer.Option(None, "--now", help="The current time, RFC 3339 (e.g. 2024-11-21T00:00:00Z); default: now.")
_REPO = typer.Option(None, "--repo", help="owner/name of the GitHub repository (with --comment / --github).")
_TOKEN_FILE = typer.Option(None, "--token-file", help="File with the GitHub token.")
_API_URL = options.GITHUB_API_URL


def register(app: typer.Typer) -> None:
    """Add the ``preview`` command group."""
    group = typer.Typer(
        help="Preview environments: one per pull request, in the config repo's previews/ folder.",
        no_args_is_help=True,
    )
    group.command("up")(up)
    group.command("down")(down)
    group.command("list")(list_)
    group.command("gc")(gc)
    group.command("db-secret")(db_secret)
    app.add_typer(group, name="preview")


def _now(text: str | None) -> datetime:
    from datetime import UTC

    from shipyard.times import parse_rfc3339

    if text is None:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        return parse_rfc3339(text)
    except ValueError as exc:
        raise ShipyardError(f"--now: {exc}") from None


def _github(
    enabled: bool, repo: str | None, token_file: Path | None, token: str | None, api_url: str, flag: str
) -> tuple[GitHubClient, str] | None:
    """The GitHub client and repository when ``flag`` is given; checked before anything changes."""
    from shipyard.github.client import GitHubClient, load_token
    from shipyard.github.feedback import check_api_url, check_repo

    if not enabled:
        if repo or token_file:
            raise ShipyardError(f"--repo and --token-file need {flag}")
        return None
    if not repo:
        raise ShipyardError(f"{flag} needs --repo OWNER/NAME (the GitHub repository of the pull requests)")
    check_api_url(api_url)
    return GitHubClient(token=load_token(token_file, token), api_url=api_url), check_repo(repo)


def _comment(
    github: tuple[GitHubClient, str], pr: int, section: str, command: str, dry_run: bool
) -> tuple[CommentOutcome, GitHubError | None]:
    """Write the preview section of the PR's comment; a GitHub failure is returned, to be raised after the output."""
    from shipyard.github.client import GitHubError
    from shipyard.previews.github import comment_preview
    from shipyard.previews.repo import CommentOutcome

    try:
        return CommentOutcome(comment_preview(*github, pr, section, command=command, dry_run=dry_run)), None
    except GitHubError as exc:
        return CommentOutcome(None, str(exc)), exc


def up(
    pr: int = typer.Option(..., "--pr", help="The pull request number."),
    sha: str = typer.Option(..., "--sha", help="The commit CI built (its image tag is pr-<n>-<sha7>)."),
    services: list[str] = typer.Option(
        [], "--services", help="Services to run (repeat or comma-separate); default: every service."
    ),
    services_file: Path | None = typer.Option(
        None,
        "--services-file",
        help="The services CI built, as a JSON list (the affected matrix file); an empty list runs no preview.",
    ),
    config_repo: str | None = options.CONFIG_REPO,
    root: Path = _ROOT,
    now: str | None = _NOW,
    comment: bool = typer.Option(
        False, "--comment", help="Add the URLs to the PR's Shipyard comment (keeps what `pr comment` wrote)."
    ),
    repo: str | None = _REPO,
    token_file: Path | None = _TOKEN_FILE,
    github_token: str | None = options.GITHUB_TOKEN,
    api_url: str = _API_URL,
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan; change nothing."),
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """Create or update the preview of a pull request (previews/pr-<n>/) and push it; print its URLs."""
    from shipyard.cli.context import load_context
    from shipyard.previews.repo import check_request, preview_up, read_services_file

    fmt = chosen(output, as_json)
    if services and services_file is not None:
        raise ShipyardError("use either --services or --services-file")
    ctx = load_context(root, config_repo)
    known = [s.name for s in ctx.workspace().services]
    wanted: list[str] | None = [name.strip() for item in services for name in item.split(",") if name.strip()] or None
    if services_file is not None:
        wanted = read_services_file(services_file)
    request = check_request(pr, sha, wanted, known)
    # Before any push: a missing token or --repo must fail the command before it changes anything.
    github = _github(comment, repo, token_file, github_token, api_url, "--comment")
    result = preview_up(ctx.config_repo, ctx.platform, request, _now(now), dry_run=dry_run)
    failure = None
    if github is not None:
        from shipyard.previews.github import preview_section

        # No service built, no preview: the section goes, as with `preview down`.
        section = preview_section(result.urls, result.namespace, request.tag) if result.urls else ""
        result.comment, failure = _comment(github, pr, section, f"shipyard preview up --pr {pr} --comment", dry_run)
    if is_machine(fmt):
        emit(result.to_json(), fmt)
    else:
        emit_plan(result.plan, fmt)
        if result.comment is not None and result.comment.plan is not None:
            emit_plan(result.comment.plan, fmt)
        if not dry_run:
            state = "pushed " + result.commit[:12] if result.commit else "already up to date"
            say(f"preview {result.namespace}: {state}")
        for service, url in result.urls.items():
            print(f"{service}: {url}")
    if failure is not None:
        raise failure  # after the output: the preview itself was pushed, and says so


def down(
    pr: int = typer.Option(..., "--pr", help="The pull request number."),
    config_repo: str | None = options.CONFIG_REPO,
    root: Path = _ROOT,
    comment: bool = typer.Option(False, "--comment", help="Remove the preview URLs from the PR's Shipyard comment."),
    repo: str | None = _REPO,
    token_file: Path | None = _TOKEN_FILE,
    github_token: str | None = options.GITHUB_TOKEN,
    api_url: str = _API_URL,
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan; change nothing."),
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """Remove the preview of a pull request from the config repo; Argo CD prunes its namespace."""
    from shipyard.cli.context import load_context
    from shipyard.previews.repo import DownResult, preview_down

    fmt = chosen(output, as_json)
    ctx = load_context(root, config_repo)
    github = _github(comment, repo, token_file, github_token, api_url, "--comment")
    plan, commit = preview_down(ctx.config_repo, ctx.platform, pr, dry_run=dry_run)
    result = DownResult(plan, commit, dry_run)
    failure = None
    if github is not None:
        result.comment, failure = _comment(github, pr, "", f"shipyard preview down --pr {pr} --comment", dry_run)
    if is_machine(fmt):
        emit(result.to_json(), fmt)
    else:
        emit_plan(plan, fmt)
        if result.comment is not None and result.comment.plan is not None:
            emit_plan(result.comment.plan, fmt)
        if commit:
            say(f"pushed {commit[:12]}")
    if failure is not None:
        raise failure


def _age(seconds: int | None) -> str:
    if seconds is None:
        return "?"
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    days, rest = divmod(seconds, 86400)
    return f"{sign}{days}d{rest // 3600}h" if days else f"{sign}{rest // 3600}h{rest % 3600 // 60}m"


def list_(
    config_repo: str | None = options.CONFIG_REPO,
    root: Path = _ROOT,
    now: str | None = _NOW,
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """List the previews in the config repo with their age, expiry and URLs."""
    from shipyard.cli.context import load_context
    from shipyard.previews.repo import PreviewList, list_previews

    fmt = chosen(output, as_json)
    ctx = load_context(root, config_repo)
    moment = _now(now)
    infos = list_previews(ctx.config_repo, ctx.platform, moment)
    if is_machine(fmt):
        emit(PreviewList(moment, infos).to_json(), fmt)
        return
    if not infos:
        print("no previews")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("preview", "PR", "tag", "age", "expires in", title="Previews")
    table.add_column("urls", overflow="fold")
    for info in infos:
        if info.expires_at is None:
            expires = f"? ({info.problem})"
        elif info.expired:
            expires = f"expired {_age(int((info.now - info.expires_at).total_seconds()))} ago"
        else:
            expires = _age(int((info.expires_at - info.now).total_seconds()))
        table.add_row(
            info.name,
            str(info.number or "?"),
            info.tag or "?",
            _age(info.age_seconds),
            expires,
            "\n".join(info.urls.values()),
        )
    Console().print(table)


def gc(
    now: str | None = _NOW,
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan; change nothing."),
    max_deletions: int = typer.Option(10, "--max-deletions", min=0, help="Delete at most this many per run."),
    pr_state: Path | None = typer.Option(
        None, "--pr-state", help="JSON of pull request states; only 'closed'/'merged' counts as closed."
    ),
    github: bool = typer.Option(
        False, "--github", help="Ask GitHub each preview's PR state; an API error is never 'closed'."
    ),
    repo: str | None = _REPO,
    token_file: Path | None = _TOKEN_FILE,
    github_token: str | None = options.GITHUB_TOKEN,
    api_url: str = _API_URL,
    cluster: bool = typer.Option(
        False, "--cluster", help="Check the live namespaces for orphans (preview namespaces with no directory)."
    ),
    delete_orphans: bool = typer.Option(False, "--delete-orphans", help="With --cluster: delete the orphans."),
    kubeconfig: Path | None = typer.Option(None, "--kubeconfig", help="With --cluster: the kubeconfig file."),
    context: str | None = typer.Option(None, "--context", help="With --cluster: the kubeconfig context."),
    config_repo: str | None = options.CONFIG_REPO,
    root: Path = _ROOT,
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """Remove expired previews (and those of closed PRs) from the config repo; with --cluster, find orphans."""
    from shipyard.cli.context import load_context
    from shipyard.cli.progress import progress_bars

    fmt = chosen(output, as_json)
    if (delete_orphans or kubeconfig or context) and not cluster:
        raise ShipyardError("--delete-orphans, --kubeconfig and --context need --cluster")
    if cluster and (pr_state or github):
        raise ShipyardError("--pr-state and --github apply to the config repo clean-up, not to --cluster")
    if pr_state and github:
        raise ShipyardError("give one PR state source: --pr-state FILE or --github")
    lookup = _github(github, repo, token_file, github_token, api_url, "--github")
    ctx = load_context(root, config_repo)
    moment = _now(now)
    with progress_bars(fmt) as progress:
        if cluster:
            _gc_cluster(
                ctx.config_repo,
                ctx.platform,
                moment,
                max_deletions,
                delete_orphans,
                dry_run,
                kubeconfig,
                context,
                fmt,
                progress,
            )
            return
        from shipyard.previews.cleanup import GcOutcome, preview_gc
        from shipyard.previews.prstate import PrStateLookup, PrStates, read_pr_states

        states: PrStates | PrStateLookup | None = read_pr_states(pr_state) if pr_state else None
        if lookup is not None:
            from shipyard.previews.github import GitHubPrStates

            states = GitHubPrStates(*lookup, progress=progress)
        report, commit = preview_gc(
            ctx.config_repo,
            ctx.platform,
            moment,
            max_deletions=max_deletions,
            pr_states=states,
            dry_run=dry_run,
            progress=progress,
        )
    if is_machine(fmt):
        emit(GcOutcome(report, commit, dry_run).to_json(), fmt)
        return
    emit_plan(report.plan(), fmt)
    if commit:
        say(f"pushed {commit[:12]}")


def _gc_cluster(
    source: str,
    platform: Platform,
    now: datetime,
    max_deletions: int,
    delete_orphans: bool,
    dry_run: bool,
    kubeconfig: Path | None,
    context: str | None,
    fmt: Format,
    progress: Progress | None,
) -> None:
    from shipyard.previews.cluster import api_client, cluster_gc

    client = api_client(kubeconfig, context)
    try:
        outcome = cluster_gc(
            client,
            source,
            platform,
            now,
            max_deletions=max_deletions,
            delete_orphans=delete_orphans,
            dry_run=dry_run,
            progress=progress,
        )
    finally:
        client.close()
    failed = [d for d in outcome.deleted if not d.ok]
    if is_machine(fmt):
        emit(outcome.to_json(), fmt)
    else:
        emit_plan(outcome.report.plan(delete_orphans=delete_orphans), fmt)
        for result in outcome.deleted:
            say(f"{'deleted' if result.ok else 'NOT deleted'} namespace/{result.name}: {result.detail}")
    if failed:
        exit_with(1)


def db_secret(
    namespace: str = typer.Option(..., "--namespace", help="The preview's namespace."),
    name: str = typer.Option("preview-db", "--name", help="The Secret to create."),
    username: str = typer.Option("preview", "--username", help="The database user."),
    database: str = typer.Option("app", "--database", help="The database name."),
    kubeconfig: Path | None = typer.Option(None, "--kubeconfig", help="The kubeconfig file (default: in-cluster)."),
    context: str | None = typer.Option(None, "--context", help="The kubeconfig context."),
) -> None:
    """Create the preview database's Secret with a random password, unless it exists (run by the preview's Job)."""
    from shipyard.previews.cluster import api_client, ensure_db_secret

    client = api_client(kubeconfig, context)
    try:
        created = ensure_db_secret(client, namespace, name, username, database)
    finally:
        client.close()
    print(f"secret {namespace}/{name}: {'created' if created else 'already there, kept'}")
