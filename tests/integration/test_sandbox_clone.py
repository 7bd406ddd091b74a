"""The masked clone against a real PostgreSQL: no leaks, keys hold, deterministic, atomic, guarded."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from shipyard.errors import ShipyardError
from shipyard.sandbox.db.clone import clone
from shipyard.sandbox.db.identity import ProductionGuardError
from shipyard.sandbox.db.masking import session_settings
from shipyard.sandbox.db.rules import parse_rules
from tests.sandbox_pg import PgServer, pg_server, server_log
from tests.sandbox_schema import MASKED_TEXT, RULES, populate

pytestmark = pytest.mark.integration

SALT = "test-salt-0123456789abcdef"


@pytest.fixture(scope="module")
def server() -> PgServer:
    return pg_server()


@pytest.fixture(scope="module")
def source(server: PgServer) -> str:
    url = server.createdb("sandbox_clone_prod")
    with psycopg.connect(url) as conn:
        populate(conn)
    return url


@pytest.fixture(scope="module")
def cloned(server: PgServer, source: str) -> Iterator[str]:
    target = server.url("sandbox_clone_a")
    clone(source, target, parse_rules(yaml.safe_load(RULES)), SALT)
    yield target


def _set_rule(rules: dict[str, Any], table: str, column: str, rule: object) -> None:
    """Give a column a rule in parsed RULES, taking it off the keep list (a column is named once)."""
    if column in rules["keep"].get(table, []):
        rules["keep"][table].remove(column)
    rules["tables"][table][column] = rule


def _rows(url: str, query: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, args).fetchall()


def _text_columns(url: str) -> list[tuple[str, str]]:
    return [
        (t, c)
        for t, c in _rows(
            url,
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND data_type IN ('text', 'character varying', 'character')",
        )
    ]


def test_no_original_value_of_a_masked_column_appears_anywhere(source: str, cloned: str) -> None:
    originals: set[str] = set()
    for table, column in MASKED_TEXT:
        originals |= {v for (v,) in _rows(source, f'SELECT "{column}" FROM {table} WHERE "{column}" IS NOT NULL')}
    assert len(originals) > 3000
    leaks = []
    for table, column in _text_columns(cloned):
        for (value,) in _rows(cloned, f'SELECT "{column}" FROM {table} WHERE "{column}" IS NOT NULL'):
            if value in originals:
                leaks.append((table, column, value))
    assert leaks == []
    # Free text must not contain the original emails either (the notes column is nulled).
    emails = {v for (v,) in _rows(source, "SELECT email FROM users")}
    all_text = " ".join(
        str(v)
        for t, c in _text_columns(cloned)
        for (v,) in _rows(cloned, f'SELECT "{c}" FROM {t} WHERE "{c}" IS NOT NULL')
    )
    assert not [e for e in emails if e in all_text]


def test_row_counts_match(source: str, cloned: str) -> None:
    for table in ("users", "addresses", "orders", "payments"):
        assert _rows(source, f"SELECT count(*) FROM {table}") == _rows(cloned, f"SELECT count(*) FROM {table}")


def test_every_foreign_key_holds_and_joins_still_match(cloned: str) -> None:
    assert _rows(cloned, "SELECT count(*) FROM orders o LEFT JOIN users u ON u.id = o.user_id WHERE u.id IS NULL") == [
        (0,)
    ]
    orphans = "SELECT count(*) FROM orders o WHERE contact_email IS NOT NULL AND NOT EXISTS "
    orphans += "(SELECT 1 FROM users u WHERE u.email = o.contact_email)"
    assert _rows(cloned, orphans) == [(0,)]
    # The same source email became the same masked email in both tables: the join pairs the same rows.
    mismatched = "SELECT count(*) FROM orders o JOIN users u ON u.id = o.user_id WHERE o.contact_email <> u.email"
    assert _rows(cloned, mismatched) == [(0,)]
    # The keys exist on the clone (pg_dump's post-data ran), so PostgreSQL itself enforces them.
    constraints = {name for (name,) in _rows(cloned, "SELECT conname FROM pg_constraint WHERE contype = 'f'")}
    assert {"orders_contact_email_fkey", "orders_user_id_fkey", "payments_order_id_fkey"} <= constraints


def test_unique_columns_keep_their_distinct_counts(source: str, cloned: str) -> None:
    for table, column in (("users", "email"), ("payments", "token"), ("orders", "contact_email")):
        query = f"SELECT count(DISTINCT {column}), count({column}) FROM {table}"
        assert _rows(source, query) == _rows(cloned, query)


def test_masking_changes_values_but_keeps_shape(source: str, cloned: str) -> None:
    row = _rows(cloned, "SELECT email, phone, notes, birth_date FROM users WHERE id = 2")[0]
    original = _rows(source, "SELECT email, phone, notes, birth_date FROM users WHERE id = 2")[0]
    assert row[0].endswith(("@example.com", "@example.net", "@example.org"))
    assert row[1].startswith("+1-555-")
    assert row[2] is None
    assert row[3] != original[3]
    assert 1 <= abs((row[3] - original[3]).days) <= 30
    cards = _rows(cloned, "SELECT card_number FROM payments WHERE id = 1")[0][0]
    assert cards.startswith("*" * 8)
    assert cards[-4:] == _rows(source, "SELECT card_number FROM payments WHERE id = 1")[0][0][-4:]
    # Sequences continue after the copied rows.
    assert _rows(cloned, "SELECT nextval('users_id_seq')")[0][0] > 600


def test_same_salt_gives_the_same_output(server: PgServer, source: str, cloned: str) -> None:
    again = server.url("sandbox_clone_b")
    events: list[tuple[str, int, int | None]] = []
    report = clone(
        source, again, parse_rules(yaml.safe_load(RULES)), SALT, jobs=2, progress=lambda *e: events.append(e)
    )
    tables = len(report.results)
    # Every table is counted once, from whichever copying thread finished it.
    assert events == [("copy tables", n, tables) for n in range(tables + 1)]
    for table in ("users", "addresses", "orders", "payments"):
        query = f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {table} t"
        assert _rows(cloned, query) == _rows(again, query)
    other = server.url("sandbox_clone_c")
    clone(source, other, parse_rules(yaml.safe_load(RULES)), "another-salt-000000000000")
    assert _rows(cloned, "SELECT email FROM users WHERE id = 1") != _rows(other, "SELECT email FROM users WHERE id = 1")


def test_the_salt_and_what_is_derived_from_it_never_reach_the_server_log(
    server: PgServer, source: str, cloned: str
) -> None:
    # The test server logs every statement and every bound parameter in full (tests/sandbox_pg.py): a bound
    # parameter does reach the log, so the check below can fail.
    with psycopg.connect(server.url("postgres")) as conn:
        conn.execute("SELECT set_config('shipyard.canary', %s, false)", ("canary-0f1e2d3c4b5a",))
    log = server_log(server)
    assert "canary-0f1e2d3c4b5a" in log and "COPY (SELECT" in log
    secrets = {SALT, SALT.encode().hex(), base64.b64encode(SALT.encode()).decode(), *session_settings(SALT).values()}
    assert [secret for secret in secrets if secret in log] == []


def test_options_given_in_the_source_url_are_kept(server: PgServer, source: str) -> None:
    # The masking settings ride in libpq's `options`; the URL's own must still apply to the source sessions.
    with_options = f"{source}?options=-c%20log_min_duration_statement%3D0"
    clone(with_options, server.url("sandbox_clone_options"), parse_rules(yaml.safe_load(RULES)), SALT)
    lines = server_log(server).splitlines()
    copying = {line.split("[")[1].split("]")[0] for line in lines if "statement: COPY (SELECT" in line}
    timed = {line.split("[")[1].split("]")[0] for line in lines if "LOG:  duration: " in line}
    assert copying & timed  # the sessions that read the source ran with the URL's option


def test_refuses_the_production_database(server: PgServer, source: str) -> None:
    same_by_name = source.replace("127.0.0.1", "localhost")
    with pytest.raises(ProductionGuardError, match="same database as the source"):
        clone(source, same_by_name, parse_rules(yaml.safe_load(RULES)), SALT)
    spec_url = server.url("sandbox_clone_spec_prod")
    with pytest.raises(ProductionGuardError, match=r"production in shipyard\.yaml"):
        clone(
            source,
            spec_url.replace("127.0.0.1", "localhost"),
            parse_rules(yaml.safe_load(RULES)),
            SALT,
            production=[("production in shipyard.yaml", spec_url)],
        )


# The review's list: free text, json/jsonb, arrays, xml, card numbers; and types that are not text at all.
_UNNAMED_SCHEMA = """
CREATE TYPE mood AS ENUM ('calm', 'cross');
CREATE TABLE profiles (
    id serial PRIMARY KEY,
    bio text NOT NULL,
    prefs jsonb,
    raw json,
    tags text[],
    doc xml,
    card_number varchar(19),
    last_ip inet,
    avatar bytea,
    score numeric(5, 2),
    seen_at timestamptz,
    ref uuid UNIQUE,
    active boolean,
    feeling mood,
    secret_note text
);
INSERT INTO profiles (bio, prefs, raw, tags, doc, card_number, last_ip, avatar, score, seen_at, ref, active, feeling,
                      secret_note)
VALUES ('Grew up in Quedlinburg', '{"phone": "+49 3946 1234"}', '{"a": 1}', '{Oberhuber}', '<p>Oberhuber</p>',
        '4111111111111111', '192.0.2.7', '\\x00', 1.5, now(), gen_random_uuid(), true, 'calm', 'PIN 4711');
"""


@pytest.fixture(scope="module")
def unnamed_source(server: PgServer) -> str:
    url = server.createdb("sandbox_clone_unnamed_prod")
    with psycopg.connect(url) as conn:
        conn.execute(_UNNAMED_SCHEMA)
    return url


def test_a_column_nobody_named_is_refused_whatever_its_type(
    server: PgServer, unnamed_source: str, tmp_path: Path
) -> None:
    rules = parse_rules({"tables": {"profiles": {"secret_note": "null"}}})
    target = server.url("sandbox_clone_unnamed")
    for dry_run in (True, False):
        with pytest.raises(ShipyardError) as refused:
            clone(unnamed_source, target, rules, SALT, dry_run=dry_run)
        message = str(refused.value)
        assert "14 column(s) have no rule" in message
        for column in [
            "id",
            "bio",
            "prefs",
            "raw",
            "tags",
            "doc",
            "card_number",
            "last_ip",
            "avatar",
            "score",
            "seen_at",
            "ref",
            "active",
            "feeling",
        ]:
            assert f"public.profiles.{column} (" in message
        assert "secret_note (" not in message
    names = {n for (n,) in _rows(server.url("postgres"), "SELECT datname FROM pg_database")}
    assert not [n for n in names if n.startswith("sandbox_clone_unnamed") and "prod" not in n]
    # The snippet in the hint names them all; pasted into the rules file (as it is: every suggestion
    # applies here), the clone runs, masking what may be personal and keeping the rest.
    snippet = yaml.safe_load(message.split("review each line):\n", 1)[1])
    assert snippet["keep"] == {"profiles": ["id", "score", "seen_at", "ref", "active", "feeling"]}
    assert snippet["tables"]["profiles"]["bio"] == "hash"
    assert snippet["tables"]["profiles"]["prefs"] == "null"
    pasted = parse_rules(
        {"keep": snippet["keep"], "tables": {"profiles": {**snippet["tables"]["profiles"], "secret_note": "null"}}}
    )
    report = clone(unnamed_source, target, pasted, SALT)
    assert report.to_json()["kept"] == [
        f"public.profiles.{c}" for c in ("id", "score", "seen_at", "ref", "active", "feeling")
    ]
    row = _rows(target, "SELECT bio, prefs, tags, card_number, secret_note FROM profiles")[0]
    assert row[0] != "Grew up in Quedlinburg" and row[1:] == (None, None, None, None)


def test_keep_and_rules_name_each_column_once(source: str, server: PgServer) -> None:
    rules = yaml.safe_load(RULES)
    rules["keep"]["public.users"] = ["email"]  # also masked under tables.users
    with pytest.raises(ShipyardError, match=r"keep\.public\.users\.email: already given|tables\.users\.email: already"):
        clone(source, server.url("sandbox_clone_twice_named"), parse_rules(rules), SALT, dry_run=True)
    rules = yaml.safe_load(RULES)
    rules["keep"]["users"].append("email")
    with pytest.raises(ShipyardError, match=r"keep\.users: 'email' is given twice"):
        parse_rules(rules)


@pytest.mark.parametrize(
    ("table", "column", "rule", "message"),
    [
        ("users", "email", {"rule": "partial"}, "not one-to-one"),
        ("users", "id", {"rule": "fixed", "value": 1}, "not one-to-one"),
        ("orders", "contact_email", {"rule": "null"}, "not one-to-one"),
        ("users", "email", {"rule": "fake.email", "disambiguate": False}, "not one-to-one"),
        ("orders", "contact_email", "hash", "both must use the same rule"),
        ("users", "nope", "keep", "no such column"),
    ],
)
def test_refuses_rules_that_would_break_keys(
    source: str, server: PgServer, table: str, column: str, rule: object, message: str
) -> None:
    rules = yaml.safe_load(RULES)
    _set_rule(rules, table, column, rule)
    with pytest.raises(ShipyardError, match=message):
        clone(source, server.url("sandbox_clone_refused"), parse_rules(rules), SALT)


def test_a_failure_half_way_leaves_the_target_as_it_was(server: PgServer, source: str) -> None:
    target = server.createdb("sandbox_clone_keep")
    with psycopg.connect(target) as conn:
        conn.execute("CREATE TABLE marker (v text)")
        conn.execute("INSERT INTO marker VALUES ('before')")
    rules = yaml.safe_load(RULES)
    # users is the last table copied; the bad cast fails only once its COPY starts.
    rules["tables"]["users"]["birth_date"] = {"rule": "fixed", "value": "not-a-date"}
    with pytest.raises(ShipyardError, match=r"copying public\.users failed"):
        clone(source, target, parse_rules(rules), SALT)
    assert _rows(target, "SELECT v FROM marker") == [("before",)]
    names = {n for (n,) in _rows(server.url("postgres"), "SELECT datname FROM pg_database")}
    assert not [n for n in names if "shipyard" in n]


def test_the_source_is_never_written_even_by_a_subset_condition(server: PgServer, source: str) -> None:
    before = _rows(source, "SELECT last_value FROM users_id_seq")
    with pytest.raises(ShipyardError, match="read-only transaction"):
        clone(
            source,
            server.url("sandbox_clone_writes"),
            parse_rules(yaml.safe_load(RULES)),
            SALT,
            subsets=["users:nextval('users_id_seq') > 0"],
        )
    assert _rows(source, "SELECT last_value FROM users_id_seq") == before


def test_subset_keeps_foreign_keys(server: PgServer, source: str) -> None:
    target = server.url("sandbox_clone_subset")
    report = clone(source, target, parse_rules(yaml.safe_load(RULES)), SALT, subsets=["users:id % 4 = 0"])
    rows = {r.table: r.rows for r in report.results}
    assert rows["public.users"] == 150
    assert 0 < rows["public.orders"] < 1800
    assert 0 < rows["public.payments"] < 1200
    orphans = "SELECT count(*) FROM payments p LEFT JOIN orders o ON o.id = p.order_id WHERE o.id IS NULL"
    assert _rows(target, orphans) == [(0,)]


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shipyard", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_cli_clone_dry_run_json_and_errors(server: PgServer, source: str, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    target = server.url("sandbox_clone_cli")
    args = ["sandbox", "db", "clone", "--from", source, "--to", target, "--rules", str(rules), "--root", str(tmp_path)]
    salt = {"SHIPYARD_SANDBOX_SALT": SALT}
    proc = _cli(*args, "--dry-run", "--json", env={"SHIPYARD_SANDBOX_SALT": ""})  # a dry run needs no salt
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["dryRun"] is True
    users = next(t for t in report["tables"] if t["table"] == "public.users")
    assert users["columns"]["email"] == "fake.email (disambiguated)"
    assert users["columns"]["id"] == "keep"
    assert "public.users.id" in report["kept"] and "public.users.email" not in report["kept"]
    proc = _cli(*args, "--dry-run", "--strict")  # the old option still parses, and says it is the default
    assert proc.returncode == 0 and "--strict is the default now" in proc.stderr
    proc = _cli(*args, env=salt)
    assert proc.returncode == 0, proc.stderr
    assert "public.users: 600 rows" in proc.stderr
    # No salt: a clear error, exit 2, no traceback.
    proc = _cli(*args, env={"SHIPYARD_SANDBOX_SALT": ""})
    assert proc.returncode == 2
    assert "no masking salt" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = _cli(*args, env={"SHIPYARD_SANDBOX_SALT": "short"})
    assert proc.returncode == 2
    assert "at least 16" in proc.stderr
    # The salt never lives in the rules file.
    rules.write_text("salt: abc\n" + RULES)
    proc = _cli(*args, env=salt)
    assert proc.returncode == 2
    assert "must not be in the rules file" in proc.stderr


def test_failures_mid_stream_on_either_side_leave_the_target_untouched(server: PgServer, source: str) -> None:
    target = server.createdb("sandbox_clone_midway")
    with psycopg.connect(target) as conn:
        conn.execute("CREATE TABLE marker (v text)")
        conn.execute("INSERT INTO marker VALUES ('before')")
    # The source query fails at the 300th user, after rows have already streamed.
    with pytest.raises(ShipyardError, match="division by zero"):
        clone(source, target, parse_rules(yaml.safe_load(RULES)), SALT, subsets=["users:1 / (id - 300) IS NOT NULL"])
    # The target rejects a masked value (its CHECK expects the original domain).
    checked = server.createdb("sandbox_clone_checked")
    with psycopg.connect(checked) as conn:
        conn.execute("CREATE TABLE contacts (id serial PRIMARY KEY, email text CHECK (email LIKE '%@corp.test'))")
        conn.execute("INSERT INTO contacts (email) SELECT 'c' || g || '@corp.test' FROM generate_series(1, 5000) g")
    rules = parse_rules({"keep": {"contacts": ["id"]}, "tables": {"contacts": {"email": "fake.email"}}})
    with pytest.raises(ShipyardError, match=r"copying public\.contacts failed: .*contacts_email_check"):
        clone(checked, target, rules, SALT)
    assert _rows(target, "SELECT v FROM marker") == [("before",)]
    names = {n for (n,) in _rows(server.url("postgres"), "SELECT datname FROM pg_database")}
    assert not [n for n in names if "shipyard" in n]


def test_a_new_clone_replaces_the_sandbox_while_an_app_is_connected(server: PgServer, source: str) -> None:
    target = server.url("sandbox_clone_twice")
    clone(source, target, parse_rules(yaml.safe_load(RULES)), SALT)
    app = psycopg.connect(target, autocommit=True)
    first = app.execute("SELECT email FROM users WHERE id = 1").fetchone()
    clone(source, target, parse_rules(yaml.safe_load(RULES)), "a-new-day-a-new-salt-0000")
    assert _rows(target, "SELECT email FROM users WHERE id = 1") != [first]
    assert app.closed or app.broken or _session_ended(app)
    names = {n for (n,) in _rows(server.url("postgres"), "SELECT datname FROM pg_database")}
    assert not [n for n in names if "shipyard" in n]


def _session_ended(conn: psycopg.Connection[Any]) -> bool:
    try:
        conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return True
    return False


def test_hashed_integer_keys_keep_every_foreign_key(server: PgServer, source: str) -> None:
    rules = yaml.safe_load(RULES)
    _set_rule(rules, "users", "id", "hash")
    with pytest.raises(ShipyardError, match="both must use the same rule"):
        clone(source, server.url("sandbox_clone_ids"), parse_rules(rules), SALT)
    _set_rule(rules, "addresses", "user_id", "hash")
    _set_rule(rules, "orders", "user_id", "hash")
    target = server.url("sandbox_clone_ids")
    clone(source, target, parse_rules(rules), SALT)
    assert _rows(target, "SELECT count(*) FROM users WHERE id BETWEEN 1 AND 600") != [(600,)]
    assert _rows(target, "SELECT count(DISTINCT id) FROM users") == [(600,)]
    joined = "SELECT count(*) FROM orders o JOIN users u ON u.id = o.user_id AND u.email = o.contact_email"
    assert _rows(target, joined) == _rows(source, joined)
