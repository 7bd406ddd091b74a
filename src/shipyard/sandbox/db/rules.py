"""The masking rules file: per table and column, what the sandbox gets instead of production's value.

```yaml
keep:                         # copied as they are: columns that hold nothing personal
  users: [id, created_at]
tables:
  users:                      # "table" means public.table; "schema.table" for others
    email: fake.email
    full_name: fake.name
    notes: "null"             # or {rule: null}
    country: {rule: fixed, value: NL}
    card_number: {rule: partial, keepLast: 4}
    birth_date: {rule: shift, days: 30}
    api_token: hash
```

Every column the clone copies must be named, under ``keep`` or with a rule: a column nobody looked at
(a new one from a migration, a JSON blob, an array of notes) is never copied by default.
The salt that makes masking deterministic is a secret and never lives here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from shipyard.errors import ShipyardError

FAKE_KINDS = ("fake.name", "fake.email", "fake.phone", "fake.address")
RULE_NAMES = ("keep", "null", "fixed", "hash", "shift", "partial", *FAKE_KINDS)


class _Rule(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    @property
    def injective(self) -> bool:
        """True when distinct inputs give distinct outputs, so the rule may mask a key."""
        return False

    def describe(self) -> str:
        """The rule as people read it in reports."""
        return str(getattr(self, "rule", ""))


class Keep(_Rule):
    """Copy the value unchanged."""

    rule: Literal["keep"]

    @property
    def injective(self) -> bool:
        return True


class Null(_Rule):
    """Replace every value with NULL."""

    rule: Literal["null"]


class Fixed(_Rule):
    """Replace every value with one constant (cast to the column's type)."""

    rule: Literal["fixed"]
    value: str | int | float | bool

    def describe(self) -> str:
        return f"fixed {self.value!r}"


class Hash(_Rule):
    """A keyed hash of the value: hex text, a UUID for uuid columns, a keyed permutation for integers."""

    rule: Literal["hash"]
    length: int = Field(default=32, ge=16, le=32)

    @property
    def injective(self) -> bool:
        return True


class Fake(_Rule):
    """A realistic fake chosen by a keyed hash of the value; with a disambiguator it stays one-to-one."""

    rule: Literal["fake.name", "fake.email", "fake.phone", "fake.address"]
    disambiguate: bool | None = None  # None: on for key columns, off elsewhere

    @property
    def injective(self) -> bool:
        return self.disambiguate is not False

    def describe(self) -> str:
        return self.rule + (" (disambiguated)" if self.disambiguate else "")


class Shift(_Rule):
    """Move a date or timestamp by a keyed, value-dependent number of days within +-days (never 0)."""

    rule: Literal["shift"]
    days: int = Field(default=30, ge=1, le=36500)

    def describe(self) -> str:
        return f"shift +-{self.days}d"


class Partial(_Rule):
    """Keep the first/last few characters and replace the rest with a mask character."""

    rule: Literal["partial"]
    keep_first: int = Field(default=0, ge=0, le=64)
    keep_last: int = Field(default=4, ge=0, le=64)
    char: str = Field(default="*", min_length=1, max_length=1)

    def describe(self) -> str:
        return f"partial (keep first {self.keep_first}, last {self.keep_last})"


Rule = Annotated[Keep | Null | Fixed | Hash | Fake | Shift | Partial, Field(discriminator="rule")]


class RulesFile(BaseModel):
    """The whole rules file: columns copied as they are (``keep``) and, per table, a rule per column."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    keep: dict[str, list[str]] = Field(default_factory=dict)
    tables: dict[str, dict[str, Rule]] = Field(default_factory=dict)


def _normalise(value: Any, where: str) -> Any:
    if isinstance(value, str):
        return {"rule": value}
    if isinstance(value, dict):
        if "rule" in value and value["rule"] is None:
            return {**value, "rule": "null"}  # `{rule: null}`: YAML reads the bare word as null
        return value
    if value is None:
        raise ShipyardError(
            f"{where}: no rule given",
            hint='write a rule such as keep, hash or fake.email; for NULLs write {rule: null} or "null"',
        )
    return value


def parse_rules(data: Any, filename: str = "rules file") -> RulesFile:
    """Validate parsed YAML as a rules file; errors name the file, the table and column, and the valid rules."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ShipyardError(f"{filename}: the rules file must be a mapping with a 'tables' key")
    if any(str(key).lower() in ("salt", "secret", "key") for key in data):
        raise ShipyardError(
            f"{filename}: the masking salt must not be in the rules file",
            hint="set SHIPYARD_SANDBOX_SALT or pass --salt-file; keep the salt out of git",
        )
    tables = data.get("tables") or {}
    if not isinstance(tables, dict):
        raise ShipyardError(f"{filename}: 'tables' must map table names to column rules")
    keep = data.get("keep") or {}
    if not isinstance(keep, dict):
        raise ShipyardError(
            f"{filename}: 'keep' must map table names to lists of columns, e.g. users: [id, created_at]"
        )
    for table, columns in keep.items():
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
            raise ShipyardError(f"{filename}: keep.{table}: must be a list of column names, e.g. [id, created_at]")
        twice = sorted({c for c in columns if columns.count(c) > 1})
        given = set(tables.get(table) or {}) if isinstance(tables.get(table), dict) else set()
        if twice or given & set(columns):
            column = (twice or sorted(given & set(columns)))[0]
            raise ShipyardError(f"{filename}: keep.{table}: '{column}' is given twice; name each column once")
    normalised: dict[str, Any] = {}
    for table, columns in tables.items():
        if not isinstance(columns, dict):
            raise ShipyardError(f"{filename}: tables.{table}: must map column names to rules")
        normalised[str(table)] = {
            str(col): _normalise(rule, f"{filename}: tables.{table}.{col}") for col, rule in columns.items()
        }
    try:
        return RulesFile.model_validate({**data, "tables": normalised})
    except ValidationError as exc:
        first = exc.errors()[0]
        parts = [str(part) for part in first["loc"]]
        if len(parts) > 3 and parts[3] in RULE_NAMES:
            del parts[3]  # pydantic names the union member (the rule) in the path; the file does not
        loc = ".".join(parts)
        message = first["msg"]
        if first["type"] == "union_tag_invalid":
            message = f"unknown rule; valid: {', '.join(RULE_NAMES)}"
        raise ShipyardError(f"{filename}: {loc}: {message}") from None


def load_rules(path: Path) -> RulesFile:
    """Load a rules file from YAML."""
    from shipyard.bounded import MIB, read_yaml

    # Within 1 MiB, 100 levels and a bounded alias expansion: an InputError (exit 2) names the file.
    return parse_rules(read_yaml(path, MIB, f"the rules file {path}"), str(path))
