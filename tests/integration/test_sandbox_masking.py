"""Masking expressions on a real PostgreSQL, for arbitrary values: deterministic, one-to-one where promised,
NULL-preserving, and always within the column's length."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.sandbox_pg import pg_server

from shipyard.data.catalog import Column
from shipyard.data.masking import expression, session_settings
from shipyard.data.rules import Fake, Hash, Partial

pytestmark = pytest.mark.integration

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)


@pytest.fixture(scope="module")
def conn() -> Iterator[psycopg.Connection[Any]]:
    url = pg_server().createdb("sandbox_masking")
    with psycopg.connect(url, autocommit=True) as connection:
        for name, value in session_settings("property-salt-0123456789").items():
            connection.execute("SELECT set_config(%s, %s, false)", (name, value))
        yield connection


def _mask(conn: psycopg.Connection[Any], sql: str, values: list[str | None], type_: str) -> list[Any]:
    escaped = sql.replace("%", "%%")  # the masking SQL uses % (modulo); psycopg reads it as a placeholder
    source = f"unnest(%s::text[]) WITH ORDINALITY AS t(c0, n), LATERAL (SELECT c0::{type_} AS c) v"
    rows = conn.execute(f"SELECT {escaped} FROM {source} ORDER BY n", (values,)).fetchall()
    return [row[0] for row in rows]


def _column(max_length: int | None) -> Column:
    typname = "varchar" if max_length else "text"
    type_ = f"character varying({max_length})" if max_length else "text"
    return Column("c", type_, typname, "S", False, False, False, max_length)


RULES = [
    Fake(rule="fake.name"),
    Fake(rule="fake.email"),
    Fake(rule="fake.phone"),
    Fake(rule="fake.address"),
    Hash(rule="hash"),
]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=st.lists(TEXT, min_size=1, max_size=30, unique=True),
    rule=st.sampled_from(RULES),
    limit=st.sampled_from([None, 40, 64]),
)
def test_key_masks_are_deterministic_one_to_one_and_fit(
    conn: psycopg.Connection[Any], values: list[str], rule: Any, limit: int | None
) -> None:
    column = _column(limit)
    sql = expression(rule, column, key=True, where="t.c")
    type_ = column.type
    fitted = [v[:limit] if limit else v for v in values]
    if len(set(fitted)) != len(fitted):
        return  # the input itself collides once cut to the column's length
    first = _mask(conn, sql, [*fitted, None], type_)
    assert first[-1] is None
    masked = first[:-1]
    assert len(set(masked)) == len(masked)
    assert masked == _mask(conn, sql, list(reversed(fitted)), type_)[::-1]
    if limit:
        assert all(len(m) <= limit for m in masked)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=TEXT, keep_first=st.integers(0, 4), keep_last=st.integers(0, 4))
def test_partial_keeps_length_and_reveals_at_most_what_it_says(
    conn: psycopg.Connection[Any], value: str, keep_first: int, keep_last: int
) -> None:
    sql = expression(
        Partial(rule="partial", keepFirst=keep_first, keepLast=keep_last), _column(None), key=False, where="t.c"
    )
    (masked,) = _mask(conn, sql, [value], "text")
    assert len(masked) == len(value)
    if len(value) <= keep_first + keep_last:
        assert set(masked) <= {"*"}
    else:
        assert masked[:keep_first] == value[:keep_first]
        assert masked[len(masked) - keep_last :] == value[len(value) - keep_last :]
        assert set(masked[keep_first : len(masked) - keep_last]) == {"*"}
