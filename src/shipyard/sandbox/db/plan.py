"""Planning a masked clone: which rule each column gets, what SQL streams each table, what is refused.

Pure: it works on a catalog and a rules file, touches no database, and reports every problem at once.
Every copied column needs a rule or a ``keep`` entry: a column nobody named is refused, whatever its
type, with a rules-file snippet that names them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shipyard.errors import ShipyardError
from shipyard.sandbox.db.catalog import Catalog, Column, Table, quote_ident
from shipyard.sandbox.db.masking import RuleError, effective, expression
from shipyard.sandbox.db.rules import Keep, Rule, RulesFile


@dataclass(frozen=True)
class ColumnPlan:
    """One copied column: its rule and the SQL that produces its sandbox value."""

    name: str
    rule: str
    sql: str

    @property
    def masked(self) -> bool:
        """True when the sandbox gets something other than the original value."""
        return self.rule != "keep"


@dataclass(frozen=True)
class TablePlan:
    """How one table is copied: the masked SELECT streamed out and the COPY that loads it."""

    table: str
    columns: tuple[ColumnPlan, ...]
    filter: str | None
    copy_out: str
    copy_in: str
    size: int = 0


@dataclass
class ClonePlan:
    """Every table's copy, in order."""

    tables: list[TablePlan] = field(default_factory=list)

    @property
    def kept(self) -> list[str]:
        """``table.column`` of every column copied as it is (``keep``), for the report."""
        return [f"{t.table}.{c.name}" for t in self.tables for c in t.columns if not c.masked]


def parse_subsets(items: list[str], catalog: Catalog) -> dict[str, str]:
    """``TABLE:WHERE`` options to a map of qualified table name to its WHERE clause."""
    subsets: dict[str, str] = {}
    for item in items:
        name, sep, where = item.partition(":")
        if not sep or not where.strip():
            raise ShipyardError(f"--subset '{item}': write TABLE:CONDITION, e.g. \"orders:created_at > '2024-01-01'\"")
        qualified = catalog.resolve(name.strip())
        if qualified is None:
            raise ShipyardError(f"--subset '{item}': no table '{name}'; valid: {', '.join(sorted(catalog.tables))}")
        subsets[qualified] = where.strip()
    return subsets


def _filter(catalog: Catalog, subsets: dict[str, str], name: str, depth: int, stack: tuple[str, ...]) -> str | None:
    """The WHERE condition for ``name`` at alias ``s<depth>``: its own subset, and for each foreign key to a
    filtered table, the parent row must survive too (or the key be NULL). So subsets never break a key."""
    table = catalog.tables[name]
    alias = f"s{depth}"
    conditions = [f"({subsets[name]})"] if name in subsets else []
    for fk in table.foreign_keys:
        if fk.ref_table == name:
            if name in subsets:
                raise ShipyardError(
                    f"--subset on {name}: it references itself ({fk.name}), so a subset could break that key"
                )
            continue
        if fk.ref_table in stack:
            raise ShipyardError(f"--subset: foreign keys form a cycle through {fk.ref_table}; subset another table")
        parent_filter = _filter(catalog, subsets, fk.ref_table, depth + 1, (*stack, name))
        if parent_filter is None:
            continue
        parent = catalog.tables[fk.ref_table]
        inner = f"s{depth + 1}"
        join = " AND ".join(
            f"{inner}.{quote_ident(rc)} = {alias}.{quote_ident(c)}"
            for c, rc in zip(fk.columns, fk.ref_columns, strict=True)
        )
        nulls = " OR ".join(f"{alias}.{quote_ident(c)} IS NULL" for c in fk.columns)
        conditions.append(
            f"({nulls} OR EXISTS (SELECT 1 FROM {parent.sql} AS {inner} WHERE {join} AND {parent_filter}))"
        )
    return " AND ".join(conditions) if conditions else None


def _rules_by_table(catalog: Catalog, rules: RulesFile, filename: str) -> tuple[dict[str, dict[str, Rule]], list[str]]:
    resolved: dict[str, dict[str, Rule]] = {}
    spelled: dict[str, str] = {}
    problems: list[str] = []
    given: list[tuple[str, str, dict[str, Rule]]] = [
        (f"keep.{name}", name, {c: Keep(rule="keep") for c in columns}) for name, columns in rules.keep.items()
    ]
    given += [(f"tables.{name}", name, dict(columns)) for name, columns in rules.tables.items()]
    for where, name, columns in given:
        qualified = catalog.resolve(name)
        if qualified is None:
            problems.append(f"{filename}: {where}: no such table; valid: {', '.join(sorted(catalog.tables))}")
            continue
        table = catalog.tables[qualified]
        names = [c.name for c in table.columns]
        mine = resolved.setdefault(qualified, {})
        for column, rule in columns.items():
            if column not in names:
                problems.append(f"{filename}: {where}.{column}: no such column; valid: {', '.join(names)}")
            elif table.column(column).generated and not isinstance(rule, Keep):
                problems.append(f"{filename}: {where}.{column}: a generated column is recomputed, not masked")
            elif column in mine:  # e.g. under both `users` and `public.users`, or in keep and in tables
                problems.append(f"{filename}: {where}.{column}: already given as {spelled[f'{qualified}.{column}']}")
            else:
                mine[column] = rule
                spelled[f"{qualified}.{column}"] = f"{where}.{column}"
    return resolved, problems


def _check_foreign_keys(catalog: Catalog, rules: dict[str, dict[str, Rule]]) -> list[str]:
    """A foreign key keeps holding only if both ends are masked by the same rule."""
    problems = []
    for table in catalog.tables.values():
        for fk in table.foreign_keys:
            for column, ref_column in zip(fk.columns, fk.ref_columns, strict=True):
                mine = effective(rules.get(table.qualified, {}).get(column, Keep(rule="keep")), True)
                theirs = effective(rules.get(fk.ref_table, {}).get(ref_column, Keep(rule="keep")), True)
                if mine != theirs:
                    problems.append(
                        f"{table.qualified}.{column} references {fk.ref_table}.{ref_column} ({fk.name}): both must use "
                        f"the same rule, but they use '{mine.describe()}' and '{theirs.describe()}'"
                    )
    return problems


def _table_plan(catalog: Catalog, table: Table, rules: dict[str, Rule], where: str | None) -> TablePlan:
    columns = []
    problems = []
    for column in table.columns:
        rule = rules.get(column.name)
        if column.generated or rule is None:
            continue  # generated: recomputed by the target; no rule: refused by the caller
        key = catalog.is_key(table.qualified, column.name)
        try:
            sql = expression(rule, column, key=key, where=f"{table.qualified}.{column.name}")
        except RuleError as exc:
            problems.append(str(exc))
            continue
        columns.append(ColumnPlan(column.name, effective(rule, key).describe(), sql))
    if problems:
        raise _Problems(problems)
    names = ", ".join(quote_ident(c.name) for c in columns)
    select = ", ".join(c.sql for c in columns)
    condition = f" WHERE {where}" if where else ""
    return TablePlan(
        table=table.qualified,
        columns=tuple(columns),
        filter=where,
        copy_out=f"COPY (SELECT {select} FROM {table.sql} AS s0{condition}) TO STDOUT",
        copy_in=f"COPY {table.sql} ({names}) FROM STDIN",
        size=table.size,
    )


# Types whose values cannot hold free text: numbers, booleans, dates and times, enums, uuids. The snippet
# suggests `keep` for these (a person still reviews it: a date may be a birthday) and a rule for the rest.
_PLAIN_CATEGORIES = {"N", "B", "D", "T", "E"}


def _suggestion(catalog: Catalog, table: Table, column: Column) -> str | None:
    """A masking rule to start from for an unnamed column, or None to suggest ``keep``."""
    if column.category in _PLAIN_CATEGORIES or column.typname == "uuid":
        return None
    if column.is_string and (column.not_null or catalog.is_key(table.qualified, column.name)):
        return "hash"
    return '"null"'


def _unnamed(catalog: Catalog, rules: dict[str, dict[str, Rule]]) -> tuple[list[str], str]:
    """Every copied column without a rule, and a rules-file snippet naming them all."""
    listed: list[str] = []
    keep: dict[str, list[str]] = {}
    masked: dict[str, list[str]] = {}
    for name in sorted(catalog.tables):
        table = catalog.tables[name]
        short = table.name if table.schema == "public" else name
        for column in table.columns:
            if column.generated or column.name in rules.get(name, {}):
                continue
            listed.append(f"{name}.{column.name} ({column.type})")
            suggestion = _suggestion(catalog, table, column)
            if suggestion is None:
                keep.setdefault(short, []).append(quote_yaml(column.name))
            else:
                note = f"  # {column.type}" + (" NOT NULL" if column.not_null else "")
                masked.setdefault(short, []).append(f"    {quote_yaml(column.name)}: {suggestion}{note}")
    lines = []
    if keep:
        lines.append("keep:    # copied as they are: check that none of these holds personal data")
        lines += [f"  {quote_yaml(t)}: [{', '.join(cols)}]" for t, cols in keep.items()]
    if masked:
        lines.append("tables:  # may hold personal data: choose a rule for each")
        for t, entries in masked.items():
            lines += [f"  {quote_yaml(t)}:", *entries]
    return listed, "\n".join(lines)


def quote_yaml(name: str) -> str:
    """A table or column name as a YAML key or list item: plain when YAML reads it back unchanged."""
    import yaml

    plain = name.replace("_", "").isalnum() and name.isascii() and not name[:1].isdigit()
    return (
        name
        if plain and yaml.safe_load(name) == name
        else yaml.safe_dump(name, default_style='"', allow_unicode=True).strip()
    )


class _Problems(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def plan_clone(
    catalog: Catalog,
    rules: RulesFile,
    *,
    subsets: dict[str, str] | None = None,
    filename: str = "rules file",
) -> ClonePlan:
    """Plan the masked copy of every table; raise one ShipyardError listing every problem found."""
    by_table, problems = _rules_by_table(catalog, rules, filename)
    problems += _check_foreign_keys(catalog, by_table)
    unnamed, snippet = _unnamed(catalog, by_table)
    if unnamed:
        problems.append(
            f"{filename}: {len(unnamed)} column(s) have no rule, and nothing is copied unless named: "
            + ", ".join(unnamed)
        )
    plan = ClonePlan()
    for name in sorted(catalog.tables):
        if not any(not column.generated for column in catalog.tables[name].columns):
            continue  # nothing to copy: the schema alone recreates it
        try:
            where = _filter(catalog, subsets or {}, name, 0, ())
            plan.tables.append(_table_plan(catalog, catalog.tables[name], by_table.get(name, {}), where))
        except _Problems as exc:
            problems += exc.problems
    if problems:
        hint = "fix the rules file; nothing was copied"
        if unnamed:
            hint = (
                f"name every column in {filename}: a masking rule, or keep: when it is safe to copy as it is. "
                f"To start from (review each line):\n{snippet}"
            )
        raise ShipyardError("the masking rules cannot be applied:\n  " + "\n  ".join(problems), hint=hint)
    return plan
