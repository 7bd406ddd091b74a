"""``shipyard sandbox``: the daily production clone (sync, reset, status) and its database (db clone, db synth)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from shipyard.cli.output import CONFIG_REPO_HELP, emit_json, emit_plan, say


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


def _context(root: Path, config_repo: str | None) -> tuple[str, Any]:
    from shipyard.configrepo.location import resolve_config_repo
    from shipyard.sandbox.mirror import sandbox_target
    from shipyard.spec.loader import load_spec
    from shipyard.spec.locate import find_spec

    spec = find_spec(root)
    platform = load_spec(spec)
    return resolve_config_repo(platform, spec.parent, config_repo), sandbox_target(platform)


def _run_sync(
    root: Path, config_repo: str | None, *, reset: bool, if_expired: bool, dry_run: bool, as_json: bool
) -> None:
    from datetime import UTC, datetime

    from shipyard.sandbox.mirror import sync as do_sync

    location, target = _context(root, config_repo)
    outcome, commit = do_sync(location, target, datetime.now(UTC), reset=reset, if_expired=if_expired, dry_run=dry_run)
    command = "sandbox reset" if reset else "sandbox sync"
    if dry_run:
        emit_plan(outcome.plan(command), as_json)
        return
    result = {
        "commit": commit,
        "mirrors": outcome.mirrors,
        "reason": outcome.reason,
        "changes": [{"image": c.name, "before": c.before, "after": c.after} for c in outcome.changes],
        "expiresAt": outcome.state.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ") if outcome.state else None,
    }
    if as_json:
        emit_json(result)
    elif commit:
        say(f"{command}: {outcome.reason}; commit {commit[:7]} mirrors {target.source} at {outcome.mirrors[:7]}")
        for change in outcome.changes:
            say(f"  {change.name}: {change.line()}")
        say(f"  expires at {result['expiresAt']}")
    else:
        say(f"{command}: nothing to change ({outcome.reason})")


def sync(
    root: Path = typer.Option(Path(), "--root", help="A folder inside the workspace."),
    config_repo: str | None = typer.Option(None, "--config-repo", help=CONFIG_REPO_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print what would change, change nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Make the sandbox overlay run exactly production's images, with a fresh TTL when anything changed."""
    _run_sync(root, config_repo, reset=False, if_expired=False, dry_run=dry_run, as_json=as_json)


def reset(
    root: Path = typer.Option(Path(), "--root", help="A folder inside the workspace."),
    config_repo: str | None = typer.Option(None, "--config-repo", help=CONFIG_REPO_HELP),
    if_expired: bool = typer.Option(False, "--if-expired", help="Only when the TTL has run out (the TTL check)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print what would change, change nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Wipe the sandbox overlay's images, re-mirror production and restart the TTL."""
    _run_sync(root, config_repo, reset=True, if_expired=if_expired, dry_run=dry_run, as_json=as_json)


def status(
    root: Path = typer.Option(Path(), "--root", help="A folder inside the workspace."),
    config_repo: str | None = typer.Option(None, "--config-repo", help=CONFIG_REPO_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the status as JSON."),
) -> None:
    """Show the sandbox's age, expiry, and which production commit it mirrors."""
    from datetime import UTC, datetime

    from shipyard.sandbox.mirror import status as read_status

    location, target = _context(root, config_repo)
    result = read_status(location, target, datetime.now(UTC))
    if as_json:
        emit_json(result)
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


def db_clone(
    source: str = typer.Option(..., "--from", help="The production database URL (read only, in one snapshot)."),
    target: str = typer.Option(..., "--to", help="The sandbox database URL; replaced only when the copy succeeded."),
    rules_file: Path = typer.Option(..., "--rules", help="The masking rules (YAML, per table and column)."),
    subset: list[str] = typer.Option(
        [], "--subset", help="TABLE:CONDITION to copy only some rows (tables referencing it follow). Repeatable."
    ),
    strict: bool = typer.Option(False, "--strict", help="Refuse while any text column has no rule."),
    salt_file: Path | None = typer.Option(
        None, "--salt-file", help="A file holding the secret salt (default: $SHIPYARD_SANDBOX_SALT)."
    ),
    maintenance_db: str = typer.Option(
        "postgres", "--maintenance-db", help="Database on the target server used to create and swap databases."
    ),
    jobs: int = typer.Option(2, "--jobs", min=1, help="Tables copied at once (all from one snapshot)."),
    root: Path = typer.Option(Path(), "--root", help="A folder inside the workspace (for production's URL)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the rules per column and what would be copied."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Copy a PostgreSQL database into the sandbox database, masking it inside PostgreSQL as it streams."""
    from shipyard.redact import redact
    from shipyard.sandbox.db.clone import TableResult, clone
    from shipyard.sandbox.db.rules import load_rules
    from shipyard.sandbox.db.secrets import production_urls, read_salt

    rules = load_rules(rules_file)
    salt = "" if dry_run else read_salt(salt_file)  # a dry run reads only the catalog

    def progress(result: TableResult) -> None:
        masked = f", masked: {', '.join(result.masked)}" if result.masked else ""
        say(f"  {result.table}: {result.rows} rows, {result.bytes / 1e6:.1f} MB in {result.seconds:.2f}s{masked}")

    report = clone(
        source,
        target,
        rules,
        salt,
        subsets=subset,
        strict=strict,
        dry_run=dry_run,
        production=production_urls(root),
        maintenance_db=maintenance_db,
        jobs=jobs,
        filename=str(rules_file),
        on_table=None if as_json else progress,
    )
    if as_json:
        emit_json(report.as_json())
    elif dry_run:
        for table in report.plan.tables:
            print(f"{table.table}" + (f"  (where {table.filter})" if table.filter else ""))
            for column in table.columns:
                print(f"  {column.name}: {column.rule}" + ("" if column.classified else "  (no rule: kept)"))
    else:
        rows = sum(r.rows for r in report.results)
        where = redact(target)
        say(f"cloned {len(report.results)} tables, {rows} rows in {report.seconds:.1f}s into {where}")
    if report.plan.unclassified and not as_json:
        say(f"warning: text columns without a rule (copied as is): {', '.join(report.plan.unclassified)}")


def db_synth(
    target: str = typer.Option(..., "--to", help="The sandbox database URL; its schema must exist (migrations ran)."),
    rows: int = typer.Option(..., "--rows", help="Rows per table."),
    seed: int = typer.Option(0, "--seed", help="The same seed (and Faker version) gives the same data."),
    root: Path = typer.Option(Path(), "--root", help="A folder inside the workspace (for production's URL)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the tables, their order and generators."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Replace the sandbox database's rows with synthetic data that honours its schema's constraints."""
    from shipyard.sandbox.db.secrets import production_urls
    from shipyard.sandbox.db.synth import synth

    report = synth(
        target,
        rows,
        seed=seed,
        dry_run=dry_run,
        production=production_urls(root),
        on_table=None if as_json else lambda table, written: say(f"  {table}: {written} rows"),
    )
    if as_json:
        emit_json(report.as_json())
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
