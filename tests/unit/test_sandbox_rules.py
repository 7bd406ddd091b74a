"""Rules files, the masking SQL for each rule, and the production guard's spelling comparison (no database)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipyard.errors import ShipyardError
from shipyard.sandbox.db.catalog import Column, quote_ident, quote_literal
from shipyard.sandbox.db.identity import ProductionGuardError, refuse_by_spelling
from shipyard.sandbox.db.masking import RuleError, expression
from shipyard.sandbox.db.rules import Fake, Fixed, Hash, Null, Partial, Shift, parse_rules


def _col(name: str = "c", typname: str = "text", max_length: int | None = None, not_null: bool = False) -> Column:
    category = {"text": "S", "varchar": "S", "int4": "N", "date": "D", "uuid": "U"}[typname]
    return Column(name, typname, typname, category, not_null, False, False, max_length)


def test_rules_shorthand_and_long_forms() -> None:
    rules = parse_rules(
        {
            "tables": {
                "users": {
                    "email": "fake.email",
                    "notes": "null",
                    "nick": {"rule": None},
                    "card": {"rule": "partial", "keepLast": 4},
                    "born": {"rule": "shift", "days": 10},
                    "country": {"rule": "fixed", "value": "NL"},
                }
            }
        }
    )
    assert rules.tables["users"] == {
        "email": Fake(rule="fake.email"),
        "notes": Null(rule="null"),
        "nick": Null(rule="null"),
        "card": Partial(rule="partial", keep_last=4),
        "born": Shift(rule="shift", days=10),
        "country": Fixed(rule="fixed", value="NL"),
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"tables": {"users": {"email": "fake.ssn"}}}, "unknown rule; valid: keep, null"),
        ({"tables": {"users": {"email": None}}}, "no rule given"),
        ({"salt": "x", "tables": {}}, "salt must not be in the rules file"),
        ({"tables": {"users": {"email": {"rule": "hash", "length": 4}}}}, "greater than or equal to 16"),
        ({"tables": ["users"]}, "'tables' must map"),
        ({"tables": {"users": {"email": {"rule": "fixed"}}}}, r"tables\.users\.email\.value: Field required"),
    ],
)
def test_rules_errors_name_the_place_and_what_is_valid(data: object, message: str) -> None:
    with pytest.raises(ShipyardError, match=message):
        parse_rules(data, "rules.yaml")


def test_non_injective_rules_are_refused_on_keys() -> None:
    for rule in (Partial(rule="partial"), Fixed(rule="fixed", value="x"), Fake(rule="fake.name", disambiguate=False)):
        with pytest.raises(RuleError, match="not one-to-one"):
            expression(rule, _col(), key=True, where="t.c")
    assert "substr" in expression(Fake(rule="fake.name"), _col(), key=True, where="t.c")


def test_type_checks_and_fitting() -> None:
    with pytest.raises(RuleError, match="applies to text columns"):
        expression(Fake(rule="fake.email"), _col(typname="int4"), key=False, where="t.c")
    with pytest.raises(RuleError, match="NOT NULL"):
        expression(
            parse_rules({"tables": {"t": {"c": "null"}}}).tables["t"]["c"], _col(not_null=True), key=False, where="t.c"
        )
    with pytest.raises(RuleError, match="too short for a one-to-one"):
        expression(Fake(rule="fake.email"), _col(typname="varchar", max_length=20), key=True, where="t.c")
    fitted = expression(Fake(rule="fake.name"), _col(typname="varchar", max_length=30), key=True, where="t.c")
    assert fitted.startswith("(left(")
    assert expression(Hash(rule="hash"), _col(typname="uuid"), key=True, where="t.c").endswith("::uuid")
    with pytest.raises(RuleError, match="date and timestamp"):
        expression(Shift(rule="shift"), _col(), key=False, where="t.c")


@given(st.text())
def test_quoting_round_trips_any_name(name: str) -> None:
    quoted = quote_ident(name)
    assert quoted.startswith('"') and quoted.endswith('"')
    assert quoted[1:-1].replace('""', '"') == name
    if "\x00" not in name:
        assert quote_literal(name)[1:-1].replace("''", "'") == name


def test_refuse_by_spelling_names_where_the_url_came_from() -> None:
    with pytest.raises(ProductionGuardError, match=r"production in shipyard\.yaml"):
        refuse_by_spelling(
            "postgresql://sb@localhost/acme", [("production in shipyard.yaml", "postgresql://p@127.0.0.1/acme")]
        )
    refuse_by_spelling("postgresql://sb@localhost/sandbox", [("production", "postgresql://p@127.0.0.1/acme")])


@given(salt=st.text(min_size=16, max_size=64))
def test_masking_start_up_options_carry_derived_values_only(salt: str) -> None:
    from shipyard.sandbox.db.masking import KEY_SETTING, session_settings, startup_options

    settings = session_settings(salt)
    assert len(settings[KEY_SETTING]) == 64 and all(c in "0123456789abcdef" for c in settings[KEY_SETTING])
    assert all(value.isdigit() for name, value in settings.items() if name != KEY_SETTING)
    options = startup_options(salt, "-c search_path=app").split(" ")
    assert options[:2] == ["-c", "search_path=app"]
    # Nothing but the derived settings follows: the salt itself is never among them.
    assert options[2:] == [part for name, value in settings.items() for part in ("-c", f"{name}={value}")]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"keep": ["users.id"]}, "'keep' must map table names"),
        ({"keep": {"users": "id"}}, r"keep\.users: must be a list"),
        ({"keep": {"users": ["id", "id"]}}, r"keep\.users: 'id' is given twice"),
        ({"keep": {"users": ["email"]}, "tables": {"users": {"email": "hash"}}}, "'email' is given twice"),
    ],
)
def test_keep_lists_are_checked(data: object, message: str) -> None:
    with pytest.raises(ShipyardError, match=message):
        parse_rules(data, "rules.yaml")
    assert parse_rules({"keep": {"users": ["id", "created_at"]}}).keep == {"users": ["id", "created_at"]}
