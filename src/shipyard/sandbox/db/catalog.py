"""What a PostgreSQL database holds, read from its catalog: tables, columns, keys, checks.

Both the clone (which columns are keys, which are text) and the synthetic generator (types, NOT NULL,
UNIQUE, CHECK, foreign keys) plan from this one description.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from shipyard.errors import ShipyardError

# Type categories (pg_type.typcategory) and names that can carry personal data as text.
_TEXTLIKE_NAMES = {"json", "jsonb", "xml"}


def quote_ident(name: str) -> str:
    """A SQL identifier, always quoted so names of any case or spelling stay exact."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """A SQL string literal (standard_conforming_strings, on by default since PostgreSQL 9.1)."""
    if "\x00" in value:
        raise ShipyardError("a SQL value cannot contain a NUL character")
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class Column:
    """A column as the catalog describes it."""

    name: str
    type: str  # format_type(): e.g. "character varying(80)"
    typname: str  # the base type's name, e.g. "varchar", "int4", "timestamptz"
    category: str  # pg_type.typcategory of the base type: S string, N numeric, D date/time, ...
    not_null: bool
    generated: bool
    has_default: bool
    max_length: int | None  # for varchar(n) and char(n)
    numeric_precision: int | None = None
    numeric_scale: int | None = None
    labels: tuple[str, ...] = ()  # the values of an enum type

    @property
    def is_string(self) -> bool:
        """True for text, varchar, char and other string types."""
        return self.category == "S"

    @property
    def is_textlike(self) -> bool:
        """True when the column can hold free text (strings, JSON, XML, arrays of them)."""
        return self.category in ("S", "A") or self.typname in _TEXTLIKE_NAMES


@dataclass(frozen=True)
class ForeignKey:
    """A foreign key from ``columns`` of its table to ``ref_columns`` of ``ref_table``."""

    name: str
    columns: tuple[str, ...]
    ref_table: str  # qualified "schema.table"
    ref_columns: tuple[str, ...]


@dataclass(frozen=True)
class Check:
    """A CHECK constraint, with its definition as PostgreSQL prints it."""

    name: str
    columns: tuple[str, ...]
    definition: str


@dataclass(frozen=True)
class Table:
    """An ordinary table with its columns and constraints."""

    schema: str
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    uniques: tuple[tuple[str, ...], ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    checks: tuple[Check, ...] = ()
    sequences: dict[str, str] = field(default_factory=dict)  # column -> qualified owned sequence
    size: int = 0  # bytes on disk when read: big tables start copying first

    @property
    def qualified(self) -> str:
        """``schema.table`` as written in rules files and reports."""
        return f"{self.schema}.{self.name}"

    @property
    def sql(self) -> str:
        """The quoted, qualified name for SQL."""
        return f"{quote_ident(self.schema)}.{quote_ident(self.name)}"

    def column(self, name: str) -> Column:
        """The column called ``name``; KeyError when there is none."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
    def unique_columns(self) -> set[str]:
        """Columns that belong to the primary key or to any UNIQUE constraint or index."""
        found = set(self.primary_key)
        for group in self.uniques:
            found.update(group)
        return found

    @property
    def key_columns(self) -> set[str]:
        """Columns whose values must stay distinct or keep matching: PK, UNIQUE and foreign-key columns."""
        found = self.unique_columns
        for fk in self.foreign_keys:
            found.update(fk.columns)
        return found


@dataclass(frozen=True)
class Catalog:
    """Every user table of a database, by qualified name, plus which columns other tables reference."""

    tables: dict[str, Table]

    def referenced_columns(self) -> set[tuple[str, str]]:
        """(table, column) pairs that some foreign key points at."""
        return {
            (fk.ref_table, column)
            for table in self.tables.values()
            for fk in table.foreign_keys
            for column in fk.ref_columns
        }

    def is_key(self, table: str, column: str) -> bool:
        """True when the column is a key: PK, UNIQUE, foreign key, or referenced by one."""
        return column in self.tables[table].key_columns or (table, column) in self.referenced_columns()

    def resolve(self, name: str) -> str | None:
        """The qualified name for ``name`` (``table`` means ``public.table``), or None when no such table."""
        qualified = name if "." in name else f"public.{name}"
        return qualified if qualified in self.tables else None

    def fk_order(self, names: Iterable[str] | None = None) -> list[str]:
        """Tables ordered so that every table comes after the tables it references (self-references ignored).

        Raises ShipyardError on a cycle between tables, naming them.
        """
        wanted = sorted(self.tables if names is None else names)
        pending = {
            name: {
                fk.ref_table for fk in self.tables[name].foreign_keys if fk.ref_table != name and fk.ref_table in wanted
            }
            for name in wanted
        }
        order: list[str] = []
        while pending:
            ready = sorted(name for name, deps in pending.items() if not deps)
            if not ready:
                raise ShipyardError(f"foreign keys form a cycle between: {', '.join(sorted(pending))}")
            for name in ready:
                order.append(name)
                del pending[name]
            for deps in pending.values():
                deps.difference_update(ready)
        return order


_TABLES = """
SELECT c.oid, n.nspname, c.relname, pg_table_size(c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp%%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY n.nspname, c.relname
"""

_COLUMNS = """
SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod),
       COALESCE(bt.typname, t.typname), COALESCE(bt.typcategory, t.typcategory),
       a.attnotnull OR COALESCE(t.typnotnull, false), a.attgenerated <> '', a.atthasdef OR a.attidentity <> '',
       CASE WHEN COALESCE(bt.typname, t.typname) IN ('varchar', 'bpchar')
            THEN NULLIF(COALESCE(NULLIF(a.atttypmod, -1), t.typtypmod), -1) - 4 END,
       CASE WHEN COALESCE(bt.typname, t.typname) = 'numeric' AND COALESCE(NULLIF(a.atttypmod, -1), t.typtypmod) > 0
            THEN ((COALESCE(NULLIF(a.atttypmod, -1), t.typtypmod) - 4) >> 16) & 65535 END,
       CASE WHEN COALESCE(bt.typname, t.typname) = 'numeric' AND COALESCE(NULLIF(a.atttypmod, -1), t.typtypmod) > 0
            THEN (COALESCE(NULLIF(a.atttypmod, -1), t.typtypmod) - 4) & 65535 END,
       ARRAY(SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = COALESCE(bt.oid, t.oid) ORDER BY e.enumsortorder)
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
WHERE a.attrelid = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
"""

_CONSTRAINTS = """
SELECT con.conrelid, con.contype, con.conname,
       ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i),
       rn.nspname || '.' || rc.relname,
       ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i),
       pg_get_constraintdef(con.oid)
FROM pg_constraint con
LEFT JOIN pg_class rc ON rc.oid = con.confrelid
LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
WHERE con.conrelid = ANY(%s) AND con.contype IN ('p', 'u', 'f', 'c')
ORDER BY con.conrelid, con.conname
"""

# Unique indexes that are not constraints (CREATE UNIQUE INDEX) also make columns keys.
_UNIQUE_INDEXES = """
SELECT i.indrelid,
       ARRAY(SELECT a.attname FROM unnest(i.indkey) k(n) JOIN pg_attribute a
             ON a.attrelid = i.indrelid AND a.attnum = k.n)
FROM pg_index i
WHERE i.indrelid = ANY(%s) AND i.indisunique AND i.indexprs IS NULL
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
"""

_SEQUENCES = """
SELECT d.refobjid, a.attname, sn.nspname || '.' || s.relname
FROM pg_depend d
JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
JOIN pg_namespace sn ON sn.oid = s.relnamespace
JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
  AND d.deptype IN ('a', 'i') AND d.refobjid = ANY(%s)
"""


def read_catalog(conn: Any) -> Catalog:
    """Read every user table of the database ``conn`` is connected to (a psycopg connection)."""
    with conn.cursor() as cur:
        cur.execute(_TABLES)
        rows = cur.fetchall()
        oids = [row[0] for row in rows]
        names = {row[0]: (row[1], row[2]) for row in rows}
        sizes = {row[0]: int(row[3] or 0) for row in rows}
        columns: dict[int, list[Column]] = {oid: [] for oid in oids}
        cur.execute(_COLUMNS, (oids,))
        for rel, name, type_, typname, category, not_null, generated, has_default, max_len, prec, scale, labels in cur:
            columns[rel].append(
                Column(
                    name,
                    type_,
                    typname,
                    category,
                    not_null,
                    generated,
                    has_default,
                    max_len,
                    prec,
                    scale,
                    tuple(labels),
                )
            )
        pks: dict[int, tuple[str, ...]] = {}
        uniques: dict[int, list[tuple[str, ...]]] = {oid: [] for oid in oids}
        fks: dict[int, list[ForeignKey]] = {oid: [] for oid in oids}
        checks: dict[int, list[Check]] = {oid: [] for oid in oids}
        cur.execute(_CONSTRAINTS, (oids,))
        for rel, kind, name, cols, ref_table, ref_cols, definition in cur:
            if kind == "p":
                pks[rel] = tuple(cols)
            elif kind == "u":
                uniques[rel].append(tuple(cols))
            elif kind == "f":
                fks[rel].append(ForeignKey(name, tuple(cols), ref_table, tuple(ref_cols)))
            else:
                checks[rel].append(Check(name, tuple(cols), definition))
        cur.execute(_UNIQUE_INDEXES, (oids,))
        for rel, cols in cur:
            uniques[rel].append(tuple(cols))
        sequences: dict[int, dict[str, str]] = {oid: {} for oid in oids}
        cur.execute(_SEQUENCES, (oids,))
        for rel, column, sequence in cur:
            sequences[rel][column] = sequence
    tables = {}
    for oid in oids:
        schema, name = names[oid]
        table = Table(
            schema=schema,
            name=name,
            columns=tuple(columns[oid]),
            primary_key=pks.get(oid, ()),
            uniques=tuple(uniques[oid]),
            foreign_keys=tuple(fks[oid]),
            checks=tuple(checks[oid]),
            sequences=sequences[oid],
            size=sizes[oid],
        )
        tables[table.qualified] = table
    return Catalog(tables)
