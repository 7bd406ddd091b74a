"""Synthetic data against a real PostgreSQL: types, NOT NULL, UNIQUE, CHECKs, foreign keys, reproducibility."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from shipyard.sandbox.db.identity import ProductionGuardError
from shipyard.sandbox.db.synth import synth
from tests.sandbox_pg import PgServer, pg_server
from tests.sandbox_schema import SCHEMA

pytestmark = pytest.mark.integration

EXTRA = """
CREATE TYPE mood AS ENUM ('calm', 'busy', 'away');
CREATE TABLE profiles (
    user_id integer PRIMARY KEY REFERENCES users(id),
    mood mood NOT NULL,
    rating smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    handle varchar(12) NOT NULL UNIQUE,
    shouting text CHECK (shouting = upper(shouting)),
    ident bigint GENERATED ALWAYS AS IDENTITY
);
"""


def _rows(url: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


@pytest.fixture(scope="module")
def server() -> PgServer:
    return pg_server()


def _schema(server: PgServer, name: str) -> str:
    url = server.createdb(name)
    with psycopg.connect(url) as conn:
        conn.execute(SCHEMA + EXTRA)
    return url


def _fingerprint(url: str) -> list[tuple[Any, ...]]:
    tables = ("users", "addresses", "orders", "payments", "profiles")
    return [_rows(url, f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {t} t")[0] for t in tables]


def test_synth_fills_every_table_within_its_constraints(server: PgServer) -> None:
    url = _schema(server, "sandbox_synth_a")
    report = synth(url, 150, seed=3)
    assert [t.table for t in report.plan.tables][:1] == ["public.users"]
    for table in ("users", "addresses", "orders", "payments", "profiles"):
        assert _rows(url, f"SELECT count(*) FROM {table}") == [(150,)]
    assert _rows(url, "SELECT count(DISTINCT email), count(DISTINCT handle) FROM users, profiles")[0][0] == 150
    assert _rows(url, "SELECT count(DISTINCT handle) FROM profiles") == [(150,)]
    assert _rows(url, "SELECT count(*) FROM orders WHERE status NOT IN ('pending', 'paid', 'shipped')") == [(0,)]
    assert _rows(url, "SELECT min(rating) >= 1 AND max(rating) <= 5 FROM profiles") == [(True,)]
    assert _rows(url, "SELECT count(*) FROM payments WHERE amount <= 0") == [(0,)]
    assert _rows(url, "SELECT count(*) FROM users WHERE email NOT LIKE '%@%'") == [(0,)]
    # Keys point at real rows (PostgreSQL enforced them on load; this checks the join too).
    assert _rows(url, "SELECT count(*) FROM payments p JOIN orders o ON o.id = p.order_id") == [(150,)]
    # The CHECK it cannot parse is reported, not silently ignored.
    assert any("profiles_shouting_check" in note for note in report.plan.notes)
    # Sequences continue after the generated keys.
    assert _rows(url, "SELECT nextval('users_id_seq')")[0][0] > 150


def test_synth_is_reproducible_for_a_seed(server: PgServer) -> None:
    first = _schema(server, "sandbox_synth_b")
    second = _schema(server, "sandbox_synth_c")
    synth(first, 80, seed=11)
    synth(second, 80, seed=11)
    assert _fingerprint(first) == _fingerprint(second)
    synth(second, 80, seed=12)
    assert _fingerprint(first) != _fingerprint(second)


def test_synth_dry_run_changes_nothing_and_guard_refuses_production(server: PgServer) -> None:
    url = _schema(server, "sandbox_synth_d")
    report = synth(url, 10, dry_run=True)
    assert report.to_json()["tables"][0]["columns"]["email"] == "faker email (unique)"
    assert _rows(url, "SELECT count(*) FROM users") == [(0,)]
    with pytest.raises(ProductionGuardError):
        synth(url.replace("127.0.0.1", "localhost"), 10, production=[("production in shipyard.yaml", url)])
