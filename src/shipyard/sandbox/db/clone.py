"""The masked clone: production's schema and masked rows into a fresh database, then a swap.

Before anything is written, the target is shown not to be the source or a production database by
asking the servers which databases they are (``identity.py``); every create, rename and drop on the
target server names a database whose identity was established in the same session (``swap.py``).

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
from typing import TYPE_CHECKING, Any

from shipyard.dburl import database_name, printable
from shipyard.errors import ShipyardError
from shipyard.sandbox.db.catalog import Catalog, read_catalog
from shipyard.sandbox.db.identity import Unreachable, ask, production_identities, refuse_by_spelling
from shipyard.sandbox.db.masking import KEY_SETTING, startup_options
from shipyard.sandbox.db.pg import connect, dump_section, given_options, run_sql_script, with_dbname
from shipyard.sandbox.db.plan import ClonePlan, TablePlan, parse_subsets, plan_clone
from shipyard.sandbox.db.relay import RelayError, relay
from shipyard.sandbox.db.rules import RulesFile
from shipyard.sandbox.db.swap import guard_target

if TYPE_CHECKING:
    from shipyard.plan.progress import Progress

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

    def to_json(self) -> dict[str, Any]:
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

    def to_json(self) -> dict[str, Any]:
        """The stable JSON shape documented in docs/sandbox.md."""
        return {
            "source": printable(self.source),
            "target": printable(self.target),
            "dryRun": self.dry_run,
            "tables": [r.to_json() for r in self.results]
            if not self.dry_run
            else [
                {
                    "table": t.table,
                    "filter": t.filter,
                    "columns": {c.name: c.rule for c in t.columns},
                }
                for t in self.plan.tables
            ],
            "kept": self.plan.kept,
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


def _names(target: str, maintenance_db: str) -> tuple[str, str, str]:
    dbname = database_name(target)
    if dbname in ("postgres", "template0", "template1", maintenance_db):
        raise ShipyardError(f"the target database '{dbname}' is a system database; give the sandbox database's URL")
    stem = dbname[:44]
    return dbname, f"{stem}__shipyard_new", f"{stem}__shipyard_old"


def _open_source(source: str, salt: str, snapshot: str | None = None) -> Any:
    from psycopg import IsolationLevel, sql

    # The masking key and seeds travel in the start-up packet, which the server never logs: never in a
    # statement or a bound parameter, which log_statement = all would write out.
    conn = connect(source, options=startup_options(salt, given_options(source)))
    if not conn.execute("SELECT current_setting(%s, true) IS NOT NULL", (KEY_SETTING,)).fetchone()[0]:
        conn.close()
        raise ShipyardError(
            f"the connection to {printable(source)} lost the masking settings sent when it opened",
            hint="a connection pooler (e.g. PgBouncer) may drop start-up options: connect to the server directly",
        )
    conn.rollback()  # the snapshot below must open the transaction
    conn.isolation_level = IsolationLevel.REPEATABLE_READ
    conn.read_only = True  # production is never written, whatever a rule or subset says
    if snapshot is not None:  # every worker reads the same instant as the first connection
        conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
    return conn


def plan_from_source(
    source: str, rules: RulesFile, *, subsets: Iterable[str] = (), filename: str = "rules file"
) -> tuple[Catalog, ClonePlan]:
    """Read the source catalog (read-only) and plan the clone."""
    from psycopg import IsolationLevel

    with connect(source) as conn:
        conn.isolation_level = IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        catalog = read_catalog(conn)
    plan = plan_clone(catalog, rules, subsets=parse_subsets(list(subsets), catalog), filename=filename)
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
    open_staging: Callable[[], Any],
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
    with _open_source(source, salt) as main, open_staging() as main_dst:
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
                with _open_source(source, salt, snapshot) as src, open_staging() as dst:
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


def _reporting(
    plan: ClonePlan, on_table: Callable[[TableResult], None] | None, progress: Progress | None
) -> Callable[[TableResult], None] | None:
    """One per-table callback for both listeners (called from the copying threads)."""
    if progress is None:
        return on_table
    from shipyard.plan.progress import Counter

    counter = Counter(progress, "copy tables", len(plan.tables))
    counter.start()

    def finished(result: TableResult) -> None:
        counter.step()
        if on_table is not None:
            on_table(result)

    return finished


def _copy_sequences(src: Any, dst: Any) -> None:
    rows = src.execute(
        "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename), last_value "
        "FROM pg_sequences WHERE last_value IS NOT NULL"
    ).fetchall()
    for name, value in rows:
        dst.execute("SELECT setval(%s::regclass, %s, true)", (name, value))


def clone(
    source: str,
    target: str,
    rules: RulesFile,
    salt: str,
    *,
    subsets: Iterable[str] = (),
    dry_run: bool = False,
    production: Iterable[tuple[str, str]] = (),
    unreachable: Unreachable = Unreachable.refuse,
    maintenance_db: str = "postgres",
    jobs: int = 2,
    filename: str = "rules file",
    on_table: Callable[[TableResult], None] | None = None,
    progress: Progress | None = None,
) -> CloneReport:
    """Clone ``source`` into ``target`` with the rules applied; see the module docstring for the guarantees.

    ``production`` lists other URLs (with where each came from) that the target must not be; the
    source itself is always one of them. A dry run checks the same and writes nothing. ``jobs``
    tables are copied at a time, all from one snapshot. ``on_table`` gets each table's result as it is
    copied; ``progress`` counts the tables copied.
    """
    if not dry_run:
        check_salt(salt)
    target_db, staging, old = _names(target, maintenance_db)
    started = time.perf_counter()
    _, plan = plan_from_source(source, rules, subsets=subsets, filename=filename)
    source_identity = ask(source, "the source database (--from)")
    others, unverified = production_identities(production, unreachable)
    refuse_by_spelling(target, unverified)
    known = [source_identity, *others]
    report = CloneReport(source=source, target=target, plan=plan, dry_run=dry_run)
    with connect(with_dbname(target, maintenance_db), autocommit=True) as admin:
        databases = guard_target(admin, target_db, staging, old, known, f"the target ({printable(target)})")
        if dry_run:
            return report
        locked = admin.execute(
            "SELECT pg_try_advisory_lock(hashtext('shipyard-sandbox-clone'), hashtext(%s))", (target_db,)
        )
        if not locked.fetchone()[0]:
            raise ShipyardError(f"another clone into '{target_db}' is running; try again when it has finished")
        databases.clear_leftovers(known)  # from a run that was killed before it could clean up
        databases.create_staging(_source_encoding(source))
        try:
            staging_url = with_dbname(target, staging)
            schema = databases.check_sql() + dump_section(source, "pre-data")
            run_sql_script(staging_url, schema, "creating the schema")
            report.results = _copy_tables(
                source,
                salt,
                lambda: databases.open_staging(staging_url),
                plan.tables,
                jobs,
                _reporting(plan, on_table, progress),
            )
            keys = databases.check_sql() + dump_section(source, "post-data")
            run_sql_script(staging_url, keys, "creating indexes and keys")
            databases.swap()
        except BaseException:
            databases.drop_staging()
            raise
    report.seconds = time.perf_counter() - started
    return report


def _source_encoding(source: str) -> str:
    with connect(source) as conn:
        row = conn.execute("SHOW server_encoding").fetchone()
    return str(row[0])
