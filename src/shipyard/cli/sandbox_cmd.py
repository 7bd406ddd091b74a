"""``shipyard sandbox``: the daily production clone (sync, reset, status) and its database (db clone, db synth)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from shipyard.cli import options
from shipyard.cli.output import Format, chosen, emit, emit_plan, is_machine, json_option, output_option, say
from shipyard.errors import ShipyardError
from shipyard.sandbox.db.identity import Unreachable

if TYPE_CHECKING:
    from shipyard.k8s.api import KubeApi

_UNREACHABLE_HELP = (
    "When a production database named in shipyard.yaml cannot be reached to ask which database it is: "
    "refuse (the default), or compare-urls (compare it with the target by the spelling of the URLs only)."
)


def register(app: typer.Typer) -> None:
    """Add the ``sandbox`` command group."""
    group = typer.Typer(
        help="The sandbox: a daily, TTL-bound clone of production with safe data.", no_args_is_help=True
    )
    db = typer.Typer(
        help="The sandbox database: a masked clone of production, or synthetic data.", no_args_is_help=True
    )
    group.command("sync")(sync)
    group.command("reset")(reset)
    group.command("status")(status)
    db.command("clone")(db_clone)
    db.command("synth")(db_synth)
    group.add_typer(db, name="db")
    app.add_typer(group, name="sandbox")


def _run_sync(
    root: Path,
    config_repo: str | None,
    *,
    reset: bool,
    if_expired: bool,
    dry_run: bool,
    fmt: Format,
    cluster: ClusterOptions | None = None,
) -> None:
    from datetime import UTC, datetime

    from shipyard.cli.context import load_context
    from shipyard.sandbox.mirror import sandbox_target
    from shipyard.sandbox.mirror import sync as do_sync

    ctx = load_context(root, config_repo)
    target = sandbox_target(ctx.platform)
    now = datetime.now(UTC)
    api = cluster.client() if cluster is not None and not dry_run else None  # before anything changes
    outcome, commit = do_sync(ctx.config_repo, target, now, reset=reset, if_expired=if_expired, dry_run=dry_run)
    command = "sandbox reset" if reset else "sandbox sync"
    if dry_run:
        plan = outcome.plan(command)
        if cluster is not None and outcome.state is not None:
            plan.notes.append(f"then restart the workloads of namespace {target.namespace}" + cluster.job_note())
        emit_plan(plan, fmt)
        return
    done = None
    if api is not None and cluster is not None:
        from shipyard.sandbox.cluster import reset_cluster

        try:
            if commit:  # the TTL ran out and the config repo holds the new sandbox: now the cluster's
                done = reset_cluster(
                    api, target.namespace, now, jobs_namespace=cluster.jobs_namespace, database_job=cluster.job
                )
        finally:
            api.close()
    if is_machine(fmt):
        emit({**outcome.to_json(), **({"cluster": done.to_json() if done else None} if cluster else {})}, fmt)
    elif commit:
        say(f"{command}: {outcome.reason}; commit {commit[:7]} mirrors {target.source} at {outcome.mirrors[:7]}")
        for change in outcome.changes:
            say(f"  {change.name}: {change.line()}")
        say(f"  expires at {outcome.expires_at}")
        if done is not None:
            say(f"  restarted {', '.join(done.restarted) or 'no workload'} in {target.namespace}")
            if done.job:
                say(f"  started the database job {done.job}")
    else:
        say(f"{command}: nothing to change ({outcome.reason})")


_ROOT = typer.Option(Path(), "--root", help="A folder inside the workspace.")
_DRY_RUN = typer.Option(False, "--dry-run", help="Print what would change, change nothing.")


def sync(
    root: Path = _ROOT,
    config_repo: str | None = options.CONFIG_REPO,
    dry_run: bool = _DRY_RUN,
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """Make the sandbox overlay run exactly production's images; the TTL keeps running (a new one only when it
    ran out, or on the first sync)."""
    fmt = chosen(output, as_json)
    _run_sync(root, config_repo, reset=False, if_expired=False, dry_run=dry_run, fmt=fmt)


@dataclass(frozen=True)
class ClusterOptions:
    """Where the sandbox runs: the API server to reach, the jobs' namespace and the database job to start."""

    kubeconfig: Path | None
    context: str | None
    jobs_namespace: str
    job: str | None

    def client(self) -> KubeApi:
        """The API client (in a pod: its ServiceAccount), made before anything changes."""
        from shipyard.k8s.api import KubeApi
        from shipyard.k8s.kubeconfig import load_connection

        return KubeApi(load_connection(self.kubeconfig, self.context))

    def job_note(self) -> str:
        """The plan's words for the database job."""
        return f", and start the database job from CronJob {self.job}" if self.job else ""


def reset(
    root: Path = _ROOT,
    config_repo: str | None = options.CONFIG_REPO,
    if_expired: bool = typer.Option(
        False, "--if-expired", help="Only when the TTL has run out, or runs out before the next check (the TTL check)."
    ),
    cluster: bool = typer.Option(
        False,
        "--cluster",
        help="Then reset the sandbox on the cluster: restart its workloads (and start its database job).",
    ),
    database_job: str | None = typer.Option(
        None, "--database-job", help="With --cluster: the (suspended) CronJob of the sandbox database to start."
    ),
    jobs_namespace: str = typer.Option(
        "shipyard-system", "--jobs-namespace", help="With --cluster: where that CronJob is."
    ),
    kubeconfig: Path | None = typer.Option(
        None, "--kubeconfig", help="With --cluster: the kubeconfig (default: in-cluster)."
    ),
    context: str | None = typer.Option(None, "--context", help="With --cluster: the kubeconfig context."),
    dry_run: bool = _DRY_RUN,
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """Wipe the sandbox overlay's images, re-mirror production and restart the TTL; with --cluster, also restart
    the sandbox's workloads and renew its database."""
    fmt = chosen(output, as_json)
    if (database_job or kubeconfig or context) and not cluster:
        raise ShipyardError("--database-job, --kubeconfig and --context need --cluster")
    where = ClusterOptions(kubeconfig, context, jobs_namespace, database_job) if cluster else None
    _run_sync(root, config_repo, reset=True, if_expired=if_expired, dry_run=dry_run, fmt=fmt, cluster=where)


def status(
    root: Path = _ROOT,
    config_repo: str | None = options.CONFIG_REPO,
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """Show the sandbox's age, expiry, and which production commit it mirrors."""
    from datetime import UTC, datetime

    from shipyard.cli.context import load_context
    from shipyard.sandbox.mirror import sandbox_target
    from shipyard.sandbox.mirror import status as read_status

    fmt = chosen(output, as_json)
    ctx = load_context(root, config_repo)
    result = read_status(ctx.config_repo, sandbox_target(ctx.platform), datetime.now(UTC)).to_json()
    if is_machine(fmt):
        emit(result, fmt)
        return
    print(f"sandbox ({result['namespace']}): {result['state']}")
    if result["mirrors"]:
        hours = result["ageSeconds"] / 3600
        print(f"  mirrors {result['source']} at {result['mirrors'][:7]}" + ("" if result["upToDate"] else " (behind)"))
        print(
            f"  created {result['createdAt']} ({hours:.1f}h ago), expires {result['expiresAt']} (ttl {result['ttl']})"
        )
    for image in result["images"]:
        reference = image.get("digest") or image.get("newTag", "")
        print(f"  {image['name']}: {reference}")


def _production_urls(root: Path) -> list[tuple[str, str]]:
    """The database URLs the target must never be: production's (and the mirrored environment's) in the spec."""
    from shipyard.cli.context import find_context
    from shipyard.sandbox.db.secrets import production_urls

    ctx = find_context(root)
    return production_urls(ctx.platform if ctx else None)


def db_clone(
    source: str = typer.Option(..., "--from", help="The production database URL (read only, in one snapshot)."),
    target: str = typer.Option(..., "--to", help="The sandbox database URL; replaced only when the copy succeeded."),
    rules_file: Path = typer.Option(..., "--rules", help="The masking rules (YAML, per table and column)."),
    subset: list[str] = typer.Option(
        [], "--subset", help="TABLE:CONDITION to copy only some rows (tables referencing it follow). Repeatable."
    ),
    strict: bool = typer.Option(False, "--strict", hidden=True, help="The default now; kept for old scripts."),
    salt_file: Path | None = typer.Option(
        None, "--salt-file", help="A file holding the secret salt (one line; wins over --salt)."
    ),
    salt: str | None = typer.Option(
        None,
        "--salt",
        envvar="SHIPYARD_SANDBOX_SALT",
        show_default=False,
        help="The secret masking salt. A secret: prefer the environment variable or --salt-file.",
    ),
    maintenance_db: str = typer.Option(
        "postgres", "--maintenance-db", help="Database on the target server used to create and swap databases."
    ),
    jobs: int = typer.Option(2, "--jobs", min=1, help="Tables copied at once (all from one snapshot)."),
    root: Path = typer.Option(Path(), "--root", help="A folder inside the workspace (for production's URL)."),
    unreachable: Unreachable = typer.Option(Unreachable.refuse, "--unreachable-production", help=_UNREACHABLE_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the rules per column and what would be copied."),
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """Copy a PostgreSQL database into the sandbox database, masking it inside PostgreSQL as it streams."""
    from shipyard.cli.progress import progress_bars, wanted
    from shipyard.dburl import printable
    from shipyard.sandbox.db.clone import TableResult, clone
    from shipyard.sandbox.db.rules import load_rules
    from shipyard.sandbox.db.secrets import read_salt

    fmt = chosen(output, as_json)
    if strict:
        say("note: --strict is the default now (every column needs a rule or a keep: entry); it will be removed")
    rules = load_rules(rules_file)
    secret = "" if dry_run else read_salt(salt_file, salt)  # a dry run reads only the catalog

    def log(result: TableResult) -> None:
        masked = f", masked: {', '.join(result.masked)}" if result.masked else ""
        say(f"  {result.table}: {result.rows} rows, {result.bytes / 1e6:.1f} MB in {result.seconds:.2f}s{masked}")

    with progress_bars(fmt) as progress:
        report = clone(
            source,
            target,
            rules,
            secret,
            subsets=subset,
            dry_run=dry_run,
            production=_production_urls(root),
            unreachable=unreachable,
            maintenance_db=maintenance_db,
            jobs=jobs,
            filename=str(rules_file),
            # A line per table for logs; on a terminal the bar shows the same.
            on_table=None if is_machine(fmt) or wanted(fmt) else log,
            progress=progress,
        )
    if is_machine(fmt):
        emit(report.to_json(), fmt)
    elif dry_run:
        for table in report.plan.tables:
            print(f"{table.table}" + (f"  (where {table.filter})" if table.filter else ""))
            for column in table.columns:
                print(f"  {column.name}: {column.rule}")
    else:
        rows = sum(r.rows for r in report.results)
        where = printable(target)
        say(f"cloned {len(report.results)} tables, {rows} rows in {report.seconds:.1f}s into {where}")


def db_synth(
    target: str = typer.Option(..., "--to", help="The sandbox database URL; its schema must exist (migrations ran)."),
    rows: int = typer.Option(..., "--rows", help="Rows per table."),
    seed: int = typer.Option(0, "--seed", help="The same seed (and Faker version) gives the same data."),
    root: Path = typer.Option(Path(), "--root", help="A folder inside the workspace (for production's URL)."),
    unreachable: Unreachable = typer.Option(Unreachable.refuse, "--unreachable-production", help=_UNREACHABLE_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the tables, their order and generators."),
    output: Format = output_option(),
    as_json: bool = json_option(),
) -> None:
    """Replace the sandbox database's rows with synthetic data that honours its schema's constraints."""
    from shipyard.sandbox.db.synth import synth

    fmt = chosen(output, as_json)
    report = synth(
        target,
        rows,
        seed=seed,
        dry_run=dry_run,
        production=_production_urls(root),
        unreachable=unreachable,
        on_table=None if is_machine(fmt) else lambda table, written: say(f"  {table}: {written} rows"),
    )
    if is_machine(fmt):
        emit(report.to_json(), fmt)
        return
    if dry_run:
        for table in report.plan.tables:
            print(f"{table.table}: {table.rows} rows")
            for column, how in table.columns.items():
                print(f"  {column}: {how}")
    else:
        say(f"filled {len(report.plan.tables)} tables in {report.seconds:.1f}s (seed {seed})")
    for note in report.plan.notes:
        say(f"note: {note}")
