"""Masking expressions on a real PostgreSQL, for arbitrary values: deterministic, one-to-one where promised,
NULL-preserving, and always within the column's length."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipyard.sandbox.db.catalog import Column
from shipyard.sandbox.db.masking import expression, startup_options
from shipyard.sandbox.db.rules import Fake, Hash, Partial
from tests.sandbox_pg import pg_server

pytestmark = pytest.mark.integration

TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=40)


@pytest.fixture(scope="module")
def conn() -> Iterator[psycopg.Connection[Any]]:
    url = pg_server().createdb("sandbox_masking")
    with psycopg.connect(url, autocommit=True, options=startup_options("property-salt-0123456789")) as connection:
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
        Partial(rule="partial", keep_first=keep_first, keep_last=keep_last), _column(None), key=False, where="t.c"
    )
    (masked,) = _mask(conn, sql, [value], "text")
    assert len(masked) == len(value)
    if len(value) <= keep_first + keep_last:
        assert set(masked) <= {"*"}
    else:
        assert masked[:keep_first] == value[:keep_first]
        assert masked[len(masked) - keep_last :] == value[len(value) - keep_last :]
        assert set(masked[keep_first : len(masked) - keep_last]) == {"*"}


def test_integer_hash_is_a_permutation_of_the_whole_range(conn: psycopg.Connection[Any]) -> None:
    smallint = Column("c", "smallint", "int2", "N", True, False, False, None)
    sql = expression(Hash(rule="hash"), smallint, key=True, where="t.c")
    every = "generate_series(-32768, 32767) g, LATERAL (SELECT g::smallint AS c) v"
    stats = "count(DISTINCT m), min(m), max(m), count(*) FILTER (WHERE m = c)"
    query = f"SELECT {stats} FROM {every}, LATERAL (SELECT {sql} AS m) x"
    distinct, low, high, fixed = conn.execute(query).fetchone() or (0, 0, 0, 0)
    assert (distinct, low, high) == (65536, -32768, 32767)
    assert fixed < 16  # a permutation may keep a few points; a broken one keeps many
    for typname, type_, lo, hi in (("int4", "integer", -(2**31), 2**31 - 1), ("int8", "bigint", -(2**63), 2**63 - 1)):
        column = Column("c", type_, typname, "N", True, False, False, None)
        sql = expression(Hash(rule="hash"), column, key=True, where="t.c")
        sample = f"(SELECT (g * 2654435761 % {2**31})::{type_} - 1000 AS c FROM generate_series(1, 50000) g) v"
        count, distinct, low, high = conn.execute(
            f"SELECT count(*), count(DISTINCT m), min(m), max(m) FROM {sample}, LATERAL (SELECT {sql} AS m) x"
        ).fetchone() or (0, 0, 0, 0)
        assert count == distinct == 50000
        assert lo <= low and high <= hi
        assert conn.execute(f"SELECT {sql} FROM (SELECT NULL::{type_} AS c) v").fetchone() == (None,)
