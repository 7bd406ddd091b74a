"""``shipyard sandbox``: the daily production clone (sync, reset, status) and its database (db clone, db synth)."""

from __future__ import annotations

from pathlib import Path

import typer

from shipyard.cli.output import emit_json, say


def register(app: typer.Typer) -> None:
    """Add the ``sandbox`` command group."""
    group = typer.Typer(
        help="The sandbox: a daily, TTL-bound clone of production with safe data.", no_args_is_help=True
    )
    db = typer.Typer(
        help="The sandbox database: a masked clone of production, or synthetic data.", no_args_is_help=True
    )
    db.command("clone")(db_clone)
    group.add_typer(db, name="db")
    app.add_typer(group, name="sandbox")


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
    root: Path = typer.Option(Path(), "--root", help="A folder inside the workspace (for production's URL)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the rules per column and what would be copied."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Copy a PostgreSQL database into the sandbox database, masking it inside PostgreSQL as it streams."""
    from shipyard.data.clone import TableResult, clone
    from shipyard.data.rules import load_rules
    from shipyard.data.secrets import production_urls, read_salt
    from shipyard.data.urls import redact

    rules = load_rules(rules_file)
    salt = read_salt(salt_file)

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
