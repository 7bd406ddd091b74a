"""Planning a masked clone: which rule each column gets, what SQL streams each table, what is refused.

Pure: it works on a catalog and a rules file, touches no database, and reports every problem at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shipyard.errors import ShipyardError
from shipyard.sandbox.db.catalog import Catalog, Table, quote_ident
from shipyard.sandbox.db.masking import RuleError, effective, expression
from shipyard.sandbox.db.rules import Keep, Rule, RulesFile


@dataclass(frozen=True)
class ColumnPlan:
    """One copied column: its rule and the SQL that produces its sandbox value."""

    name: str
    rule: str
    sql: str
    classified: bool
    textlike: bool

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
    """Every table's copy, in order, and the columns nobody classified."""

    tables: list[TablePlan]
    unclassified: list[str] = field(default_factory=list)  # text-like columns without a rule
    kept_unclassified: list[str] = field(default_factory=list)  # other columns without a rule (kept)


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
    problems: list[str] = []
    for name, columns in rules.tables.items():
        qualified = catalog.resolve(name)
        if qualified is None:
            problems.append(f"{filename}: tables.{name}: no such table; valid: {', '.join(sorted(catalog.tables))}")
            continue
        table = catalog.tables[qualified]
        names = [c.name for c in table.columns]
        for column in columns:
            if column not in names:
                problems.append(f"{filename}: tables.{name}.{column}: no such column; valid: {', '.join(names)}")
            elif table.column(column).generated and not isinstance(columns[column], Keep):
                problems.append(f"{filename}: tables.{name}.{column}: a generated column is recomputed, not masked")
        resolved[qualified] = dict(columns)
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
        if column.generated:
            continue
        rule = rules.get(column.name)
        key = catalog.is_key(table.qualified, column.name)
        try:
            sql = expression(rule or Keep(rule="keep"), column, key=key, where=f"{table.qualified}.{column.name}")
        except RuleError as exc:
            problems.append(str(exc))
            continue
        described = effective(rule, key).describe() if rule else "keep"
        columns.append(ColumnPlan(column.name, described, sql, rule is not None, column.is_textlike))
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


class _Problems(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def plan_clone(
    catalog: Catalog,
    rules: RulesFile,
    *,
    subsets: dict[str, str] | None = None,
    strict: bool = False,
    filename: str = "rules file",
) -> ClonePlan:
    """Plan the masked copy of every table; raise one ShipyardError listing every problem found."""
    by_table, problems = _rules_by_table(catalog, rules, filename)
    problems += _check_foreign_keys(catalog, by_table)
    tables: list[TablePlan] = []
    for name in sorted(catalog.tables):
        if not any(not column.generated for column in catalog.tables[name].columns):
            continue  # nothing to copy: the schema alone recreates it
        try:
            where = _filter(catalog, subsets or {}, name, 0, ())
            tables.append(_table_plan(catalog, catalog.tables[name], by_table.get(name, {}), where))
        except _Problems as exc:
            problems += exc.problems
    if problems:
        raise ShipyardError(
            "the masking rules cannot be applied:\n  " + "\n  ".join(problems),
            hint="fix the rules file; nothing was copied",
        )
    plan = ClonePlan(tables=tables)
    for table in tables:
        for column in table.columns:
            if not column.classified:
                target = plan.unclassified if column.textlike else plan.kept_unclassified
                target.append(f"{table.table}.{column.name}")
    if strict and plan.unclassified:
        raise ShipyardError(
            f"--strict: {len(plan.unclassified)} text column(s) have no rule: " + ", ".join(plan.unclassified),
            hint="give each a rule in the rules file (keep, if it is safe to copy as is)",
        )
    return plan
