"""Synthetic sandbox data: Faker rows for the target's own schema, read from its catalog.

Honours column types and lengths, NOT NULL, UNIQUE and primary keys (values made distinct by
construction), the simple CHECK forms of ``checks.py``, enum labels, and foreign keys: tables are
filled parents first and child keys are drawn from the parent rows just written. Reproducible: each
table gets its own Faker and random generator seeded from ``--seed`` and the table's name, with
Faker's version pinned, and no value depends on the clock. The fill runs in one transaction that
first empties the tables, so a failure leaves the target as it was.
"""

from __future__ import annotations

import random
import time
import uuid
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from shipyard.dburl import printable
from shipyard.errors import ShipyardError
from shipyard.sandbox.db.catalog import Catalog, Column, Table, quote_ident
from shipyard.sandbox.db.checks import Bounds, parse_checks
from shipyard.sandbox.db.identity import (
    Unreachable,
    identify,
    production_identities,
    refuse_by_spelling,
    refuse_same,
)
from shipyard.sandbox.db.pg import connect

_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)  # fixed, so a seed gives the same dates on any day
_SPAN = 5 * 365 * 86400

# Column-name hints -> Faker method; the first hint found in the name wins.
_HINTS: tuple[tuple[str, str], ...] = (
    ("email", "email"),
    ("first_name", "first_name"),
    ("last_name", "last_name"),
    ("username", "user_name"),
    ("name", "name"),
    ("phone", "phone_number"),
    ("street", "street_address"),
    ("address", "street_address"),
    ("line1", "street_address"),
    ("city", "city"),
    ("country", "country_code"),
    ("postcode", "postcode"),
    ("zip", "postcode"),
    ("company", "company"),
    ("url", "url"),
    ("title", "sentence"),
    ("description", "paragraph"),
    ("notes", "sentence"),
    ("comment", "sentence"),
)


@dataclass(frozen=True)
class TableSynthPlan:
    """How one table is filled."""

    table: str
    rows: int
    columns: dict[str, str]  # column -> what generates it


@dataclass
class SynthPlan:
    """Tables in foreign-key order and the CHECKs that could not be honoured."""

    tables: list[TableSynthPlan]
    notes: list[str] = field(default_factory=list)


@dataclass
class SynthReport:
    """The outcome of a synth run."""

    target: str
    seed: int
    plan: SynthPlan
    dry_run: bool
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The stable JSON shape documented in docs/sandbox.md."""
        return {
            "target": printable(self.target),
            "seed": self.seed,
            "dryRun": self.dry_run,
            "tables": [{"table": t.table, "rows": t.rows, "columns": t.columns} for t in self.plan.tables],
            "notes": self.plan.notes,
            "seconds": round(self.seconds, 3),
        }


def _hint(column: Column) -> str | None:
    lowered = column.name.lower()
    return next((method for hint, method in _HINTS if hint in lowered), None)


def _describe(table: Table, column: Column, fk_columns: dict[str, str]) -> str:
    if column.name in fk_columns:
        return f"from {fk_columns[column.name]}"
    if column.labels:
        return "enum label"
    if column.is_string:
        return f"faker {_hint(column) or 'word'}" + (" (unique)" if column.name in table.unique_columns else "")
    return column.typname + (" (unique)" if column.name in table.unique_columns else "")


def _fk_columns(table: Table) -> dict[str, str]:
    found = {}
    for fk in table.foreign_keys:
        for column, ref in zip(fk.columns, fk.ref_columns, strict=True):
            found[column] = f"{fk.ref_table}.{ref}"
    return found


def plan_synth(catalog: Catalog, rows: int) -> SynthPlan:
    """Which generator fills each column, tables parents first; CHECKs not understood become notes."""
    if rows < 1:
        raise ShipyardError("--rows must be at least 1")
    plan = SynthPlan(tables=[])
    for name in catalog.fk_order():
        table = catalog.tables[name]
        info = parse_checks([(c.name, c.definition) for c in table.checks])
        unchecked = {column for check in table.checks if check.name in info.unknown for column in check.columns}
        for text in info.not_understood:
            plan.notes.append(f"{name}: CHECK not understood (its nullable columns stay NULL): {text}")
        fks = _fk_columns(table)
        columns = {c.name: _describe(table, c, fks) for c in table.columns if not c.generated}
        columns.update(
            {c.name: "NULL (CHECK not understood)" for c in table.columns if c.name in unchecked and not c.not_null}
        )
        plan.tables.append(TableSynthPlan(name, rows, columns))
    return plan


class _Generator:
    """Values for one table, from its own seeded Faker and random generator."""

    def __init__(self, table: Table, seed: int) -> None:
        from faker import Faker

        table_seed = seed * 1_000_003 + zlib.crc32(table.qualified.encode())
        self.table = table
        self.rng = random.Random(table_seed)
        self.fake = Faker("en_US")
        self.fake.seed_instance(table_seed)
        info = parse_checks([(c.name, c.definition) for c in table.checks])
        self.bounds = info.bounds
        # NULL satisfies any CHECK, so nullable columns of CHECKs we cannot read stay NULL.
        self.unchecked = {column for check in table.checks if check.name in info.unknown for column in check.columns}

    def value(self, column: Column, index: int, unique: bool) -> Any:
        bounds = self.bounds.get(column.name, Bounds())
        if bounds.choices:
            if unique and len(bounds.choices) <= index:
                raise ShipyardError(
                    f"{self.table.qualified}.{column.name}: a UNIQUE column with too few allowed values"
                )
            return bounds.choices[index] if unique else self.rng.choice(bounds.choices)
        if not column.not_null and (column.name in self.unchecked or (not unique and self.rng.random() < 0.05)):
            return None
        if column.labels:
            return column.labels[index % len(column.labels)] if unique else self.rng.choice(column.labels)
        if column.is_string:
            return self._text(column, index, unique)
        return self._typed(column, index, unique, bounds)

    def _text(self, column: Column, index: int, unique: bool) -> str:
        method = _hint(column) or "word"
        text = str(getattr(self.fake, method)())
        if unique:
            suffix = f"-{index}"
            if method == "email":
                local, _, domain = text.partition("@")
                text, suffix = local, f".{index}@{domain}"
            limit = column.max_length or len(text) + len(suffix)
            if len(suffix) > limit:
                raise ShipyardError(f"{self.table.qualified}.{column.name}: {column.type} is too short for unique rows")
            return text[: limit - len(suffix)] + suffix
        return text[: column.max_length] if column.max_length else text

    def _number(self, bounds: Bounds, low: Decimal, high: Decimal, step: Decimal) -> Decimal:
        if bounds.low is not None:
            low = max(low, bounds.low + (0 if bounds.low_inclusive else step))
        if bounds.high is not None:
            high = min(high, bounds.high - (0 if bounds.high_inclusive else step))
        if low > high:
            raise ShipyardError(f"{self.table.qualified}: CHECK bounds leave no value ({low} > {high})")
        steps = int((high - low) / step)
        return low + step * self.rng.randint(0, steps)

    def _typed(self, column: Column, index: int, unique: bool, bounds: Bounds) -> Any:
        name = column.typname
        if name in ("int2", "int4", "int8"):
            top = {"int2": 32767, "int4": 2**31 - 1, "int8": 2**63 - 1}[name]
            if unique:
                start = bounds.low + (0 if bounds.low_inclusive else 1) if bounds.low is not None else Decimal(1)
                return int(start) + index
            return int(self._number(bounds, Decimal(0), Decimal(min(top, 100_000)), Decimal(1)))
        if name == "numeric":
            scale = column.numeric_scale if column.numeric_scale is not None else 2
            digits = (column.numeric_precision or 12) - scale
            step = Decimal(1).scaleb(-scale)
            high = min(Decimal(10) ** min(digits, 6) - step, Decimal(100_000))
            if unique:
                return Decimal(index + 1)
            return self._number(bounds, Decimal(0), high, step)
        if name in ("float4", "float8"):
            return float(self._number(bounds, Decimal(0), Decimal(100_000), Decimal("0.01")))
        if name == "bool":
            return self.rng.random() < 0.5
        if name == "uuid":
            return uuid.UUID(int=self.rng.getrandbits(128), version=4)
        if name in ("timestamptz", "timestamp"):
            moment = _EPOCH + timedelta(seconds=self.rng.randint(0, _SPAN) + (index if unique else 0))
            return moment if name == "timestamptz" else moment.replace(tzinfo=None)
        if name == "date":
            return date(2020, 1, 1) + timedelta(days=index if unique else self.rng.randint(0, 5 * 365))
        if name in ("json", "jsonb"):
            return f'{{"{self.fake.word()}": "{self.fake.word()}"}}'
        if name == "bytea":
            return self.rng.randbytes(16)
        if column.not_null:
            raise ShipyardError(
                f"{self.table.qualified}.{column.name}: cannot generate {column.type} values",
                hint="synth knows text, numbers, booleans, dates, uuids, json, bytea and enums",
            )
        return None


def _fill_table(cur: Any, table: Table, rows: int, seed: int, parents: dict[tuple[str, str], list[Any]]) -> int:
    from psycopg import sql

    generator = _Generator(table, seed)
    columns = [c for c in table.columns if not c.generated]
    fk_of: dict[str, tuple[str, str]] = {}
    for fk in table.foreign_keys:
        for name, ref_column in zip(fk.columns, fk.ref_columns, strict=True):
            fk_of[name] = (fk.ref_table, ref_column)
    # A unique foreign key (one-to-one) can have at most as many rows as its parent.
    one_to_one = {name: ref for name, ref in fk_of.items() if name in table.unique_columns}
    for ref in one_to_one.values():
        rows = min(rows, len(parents.get(ref, [])))
    shuffled = {name: generator.rng.sample(parents.get(ref, []), k=rows) for name, ref in one_to_one.items()}
    keep = [c.name for c in columns if (table.qualified, c.name) in parents]
    kept: dict[str, list[Any]] = {name: [] for name in keep}
    column_list = sql.SQL(", ").join(sql.Identifier(c.name) for c in columns)
    query = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.SQL(table.sql), column_list)
    with cur.copy(query) as copy:
        for index in range(rows):
            row = []
            for column in columns:
                unique = column.name in table.unique_columns
                if column.name in shuffled:
                    value = shuffled[column.name][index]
                elif column.name in fk_of:
                    choices = parents.get(fk_of[column.name], [])
                    value = generator.rng.choice(choices) if choices else None
                    if value is None and column.not_null:
                        raise ShipyardError(f"{table.qualified}.{column.name}: its parent table has no rows")
                else:
                    value = generator.value(column, index, unique)
                row.append(value)
                if column.name in kept:
                    kept[column.name].append(value)
            copy.write_row(row)
    for key, values in kept.items():
        parents[(table.qualified, key)] = values
    return rows


def synth(
    target: str,
    rows: int,
    *,
    seed: int = 0,
    dry_run: bool = False,
    production: Iterable[tuple[str, str]] = (),
    unreachable: Unreachable = Unreachable.refuse,
    on_table: Callable[[str, int], None] | None = None,
) -> SynthReport:
    """Empty every table of ``target`` and fill it with ``rows`` synthetic rows per table, in one transaction.

    Refused when the target is (or cannot be shown not to be) one of the ``production`` databases: the
    servers are asked, and the session that writes is the one whose database was identified.
    """
    from shipyard.sandbox.db.catalog import read_catalog

    known, unverified = production_identities(production, unreachable)
    refuse_by_spelling(target, unverified)
    started = time.perf_counter()
    with connect(target) as conn:
        refuse_same(identify(conn, f"the target ({printable(target)})"), known)
        catalog = read_catalog(conn)
        plan = plan_synth(catalog, rows)
        report = SynthReport(target=target, seed=seed, plan=plan, dry_run=dry_run)
        if dry_run or not plan.tables:
            return report
        # Every referenced column's values are kept so children can point at real parent rows.
        parents: dict[tuple[str, str], list[Any]] = {key: [] for key in catalog.referenced_columns()}
        import psycopg

        try:
            with conn.cursor() as cur:
                everything = ", ".join(table.sql for table in catalog.tables.values())
                cur.execute(f"TRUNCATE {everything} RESTART IDENTITY")
                for table_plan in plan.tables:
                    table = catalog.tables[table_plan.table]
                    written = _fill_table(cur, table, rows, seed, parents)
                    if on_table:
                        on_table(table.qualified, written)
                for table in catalog.tables.values():
                    for column, sequence in table.sequences.items():
                        top = f"(SELECT max({quote_ident(column)}) FROM {table.sql})"
                        cur.execute(f"SELECT setval(%s::regclass, COALESCE({top}, 0) + 1, false)", (sequence,))
            conn.commit()
        except psycopg.Error as exc:
            conn.rollback()
            raise ShipyardError(f"synthetic data could not be loaded (nothing changed): {str(exc).strip()}") from None
    report.seconds = time.perf_counter() - started
    return report
