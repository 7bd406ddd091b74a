"""The masked clone: production's schema and masked rows into a fresh database, then a swap.

The source is only read, in one REPEATABLE READ READ ONLY transaction (a consistent snapshot of every
table). Each table streams as ``COPY (SELECT masked ...) TO STDOUT`` into ``COPY ... FROM STDIN`` on
the new database, chunk by chunk, so no table is ever held in memory. The new database gets the
schema from pg_dump before the data and the indexes and keys after it (as a restore does); only when
every step succeeded is it renamed over the target, in one transaction. A failure at any point drops
the new database and leaves the target exactly as it was.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from shipyard.errors import ShipyardError
from shipyard.redact import redact
from shipyard.sandbox.db.catalog import Catalog, read_catalog
from shipyard.sandbox.db.masking import session_settings
from shipyard.sandbox.db.pg import connect, dump_section, run_sql_script, with_dbname
from shipyard.sandbox.db.plan import ClonePlan, TablePlan, parse_subsets, plan_clone
from shipyard.sandbox.db.relay import RelayError, relay
from shipyard.sandbox.db.rules import RulesFile
from shipyard.sandbox.db.urls import endpoint, refuse_production

MIN_SALT_LENGTH = 16


@dataclass(frozen=True)
class TableResult:
    """What one table's copy moved."""

    table: str
    rows: int
    bytes: int
    seconds: float
    masked: tuple[str, ...]
    filter: str | None

    def as_json(self) -> dict[str, Any]:
        """The stable JSON shape documented in docs/sandbox.md."""
        return {
            "table": self.table,
            "rows": self.rows,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "masked": list(self.masked),
            "filter": self.filter,
        }


@dataclass
class CloneReport:
    """The outcome of a clone (or of its dry run, with no results)."""

    source: str
    target: str
    plan: ClonePlan
    dry_run: bool
    results: list[TableResult] = field(default_factory=list)
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        """The stable JSON shape documented in docs/sandbox.md."""
        return {
            "source": redact(self.source),
            "target": redact(self.target),
            "dryRun": self.dry_run,
            "tables": [r.as_json() for r in self.results]
            if not self.dry_run
            else [
                {
                    "table": t.table,
                    "filter": t.filter,
                    "columns": {c.name: c.rule for c in t.columns},
                }
                for t in self.plan.tables
            ],
            "unclassified": self.plan.unclassified,
            "keptUnclassified": self.plan.kept_unclassified,
            "seconds": round(self.seconds, 3),
        }


def check_salt(salt: str) -> str:
    """The salt, or a ShipyardError when it is too short to keep masked values from being guessed."""
    if len(salt) < MIN_SALT_LENGTH:
        raise ShipyardError(
            f"the masking salt is {len(salt)} characters; at least {MIN_SALT_LENGTH} are needed",
            hint="generate one with `openssl rand -hex 32` and keep it in a secret",
        )
    return salt


def _names(target: str) -> tuple[str, str, str]:
    dbname = endpoint(target).dbname
    if not dbname or dbname in ("postgres", "template0", "template1"):
        raise ShipyardError(f"the target database '{dbname}' is a system database; give the sandbox database's URL")
    stem = dbname[:44]
    return dbname, f"{stem}__shipyard_new", f"{stem}__shipyard_old"


def _open_source(source: str, salt: str, snapshot: str | None = None) -> Any:
    from psycopg import IsolationLevel, sql

    conn = connect(source)
    conn.isolation_level = IsolationLevel.REPEATABLE_READ
    conn.read_only = True  # production is never written, whatever a rule or subset says
    if snapshot is not None:  # every worker reads the same instant as the first connection
        conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
    # Bound parameters: the salt never appears in query text, pg_stat_activity or the server log.
    for name, value in session_settings(salt).items():
        conn.execute("SELECT set_config(%s, %s, false)", (name, value))
    return conn


def plan_from_source(
    source: str, rules: RulesFile, *, subsets: Iterable[str] = (), strict: bool = False, filename: str = "rules file"
) -> tuple[Catalog, ClonePlan]:
    """Read the source catalog (read-only) and plan the clone."""
    from psycopg import IsolationLevel

    with connect(source) as conn:
        conn.isolation_level = IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        catalog = read_catalog(conn)
    plan = plan_clone(catalog, rules, subsets=parse_subsets(list(subsets), catalog), strict=strict, filename=filename)
    return catalog, plan


def _copy_table(src: Any, dst: Any, table: TablePlan) -> TableResult:
    started = time.perf_counter()
    try:
        rows, size = relay(src, dst, table.copy_out, table.copy_in)
    except RelayError as exc:
        raise ShipyardError(f"copying {table.table} failed: {exc.message}") from None
    masked = tuple(c.name for c in table.columns if c.masked)
    return TableResult(table.table, rows, size, time.perf_counter() - started, masked, table.filter)


def _copy_tables(
    source: str,
    salt: str,
    staging_url: str,
    tables: list[TablePlan],
    jobs: int,
    on_table: Callable[[TableResult], None] | None,
) -> list[TableResult]:
    """Copy every table with ``jobs`` workers sharing one exported snapshot, biggest tables first."""
    pending: queue.SimpleQueue[TablePlan] = queue.SimpleQueue()
    for table in sorted(tables, key=lambda t: -t.size):
        pending.put(table)
    results: dict[str, TableResult] = {}
    errors: list[BaseException] = []
    with _open_source(source, salt) as main, connect(staging_url) as main_dst:
        snapshot = str(main.execute("SELECT pg_export_snapshot()").fetchone()[0])

        def work(src: Any, dst: Any) -> None:
            try:
                while not errors:
                    try:
                        table = pending.get_nowait()
                    except queue.Empty:
                        break
                    result = _copy_table(src, dst, table)
                    results[table.table] = result
                    if on_table:
                        on_table(result)
                dst.commit()
            except BaseException as exc:
                errors.append(exc)

        def worker() -> None:
            try:
                with _open_source(source, salt, snapshot) as src, connect(staging_url) as dst:
                    work(src, dst)
            except BaseException as exc:
                # Once another copy failed, its aborted transaction takes the exported snapshot with it, so
                # this worker's "could not import the requested snapshot" is a consequence, not the cause.
                if not errors:
                    errors.append(exc)

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(0, jobs - 1))]
        for thread in threads:
            thread.start()
        work(main, main_dst)
        for thread in threads:
            thread.join()
        if errors:
            # The failures are reported from several threads in whatever order they lost the race; the one
            # worth showing is the copy that failed (a ShipyardError naming the table), not its echoes.
            raise next((e for e in errors if isinstance(e, ShipyardError)), errors[0])
        _copy_sequences(main, main_dst)
        main_dst.commit()
    return [results[t.table] for t in tables]


def _copy_sequences(src: Any, dst: Any) -> None:
    rows = src.execute(
        "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename), last_value "
        "FROM pg_sequences WHERE last_value IS NOT NULL"
    ).fetchall()
    for name, value in rows:
        dst.execute("SELECT setval(%s::regclass, %s, true)", (name, value))


def _swap(admin: Any, target_db: str, staging: str, old: str) -> None:
    from psycopg import sql

    exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (target_db,)).fetchone()
    if not exists:
        admin.execute(
            sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(staging), sql.Identifier(target_db))
        )
        return
    # Sessions on the old sandbox database would block the rename: stop new ones, end the rest.
    admin.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(sql.Identifier(target_db)))
    try:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (target_db,),
        )
        with admin.transaction():  # both renames or neither
            admin.execute(
                sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(target_db), sql.Identifier(old))
            )
            admin.execute(
                sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(staging), sql.Identifier(target_db))
            )
    except Exception:
        admin.execute(sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS true").format(sql.Identifier(target_db)))
        raise
    admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(old)))


def clone(
    source: str,
    target: str,
    rules: RulesFile,
    salt: str,
    *,
    subsets: Iterable[str] = (),
    strict: bool = False,
    dry_run: bool = False,
    production: Iterable[tuple[str, str]] = (),
    maintenance_db: str = "postgres",
    jobs: int = 2,
    filename: str = "rules file",
    on_table: Callable[[TableResult], None] | None = None,
) -> CloneReport:
    """Clone ``source`` into ``target`` with the rules applied; see the module docstring for the guarantees.

    ``production`` lists other URLs (with where each came from) that the target must not be; the
    source itself is always one of them. ``jobs`` tables are copied at a time, all from one snapshot.
    """
    refuse_production(target, [("the source database (--from)", source), *production])
    if not dry_run:
        check_salt(salt)
    target_db, staging, old = _names(target)
    started = time.perf_counter()
    _, plan = plan_from_source(source, rules, subsets=subsets, strict=strict, filename=filename)
    report = CloneReport(source=source, target=target, plan=plan, dry_run=dry_run)
    if dry_run:
        return report
    from psycopg import sql

    with connect(with_dbname(target, maintenance_db), autocommit=True) as admin:
        locked = admin.execute(
            "SELECT pg_try_advisory_lock(hashtext('shipyard-sandbox-clone'), hashtext(%s))", (target_db,)
        )
        if not locked.fetchone()[0]:
            raise ShipyardError(f"another clone into '{target_db}' is running; try again when it has finished")
        for leftover in (staging, old):  # from a run that was killed before it could clean up
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(leftover)))
        encoding = _source_encoding(source)
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING {}").format(
                sql.Identifier(staging), sql.Literal(encoding)
            )
        )
        try:
            staging_url = with_dbname(target, staging)
            run_sql_script(staging_url, dump_section(source, "pre-data"), "creating the schema")
            report.results = _copy_tables(source, salt, staging_url, plan.tables, jobs, on_table)
            run_sql_script(staging_url, dump_section(source, "post-data"), "creating indexes and keys")
            _swap(admin, target_db, staging, old)
        except BaseException:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(staging)))
            raise
    report.seconds = time.perf_counter() - started
    return report


def _source_encoding(source: str) -> str:
    with connect(source) as conn:
        row = conn.execute("SHOW server_encoding").fetchone()
    return str(row[0])
