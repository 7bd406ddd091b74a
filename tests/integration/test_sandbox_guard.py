"""The production guard against a real PostgreSQL: every spelling of production is refused, a real other
database is still cloned into, and nothing is dropped or replaced whose identity was not established.

The spellings are the review's: a Unix socket in the query string, 0.0.0.0, an IPv4-mapped IPv6 address,
hostaddr, libpq's PG* variables and a service file filling in what the URL leaves out; and localhost.
"""

from __future__ import annotations

import os
import socket
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
from shipyard.sandbox.db.identity import ProductionGuardError, Unreachable
from shipyard.sandbox.db.pg import run_sql_script
from shipyard.sandbox.db.rules import parse_rules
from shipyard.sandbox.db.swap import MARK, ChangedUnderneath, guard_target
from shipyard.sandbox.db.synth import synth
from tests.sandbox_pg import PgServer, pg_server
from tests.sandbox_schema import RULES, populate

pytestmark = pytest.mark.integration

SALT = "guard-salt-0123456789abcdef"
PROD = "sandbox_guard_prod"


@pytest.fixture(scope="module")
def server() -> PgServer:
    return pg_server()


@pytest.fixture(scope="module")
def production(server: PgServer) -> str:
    url = server.createdb(PROD)
    with psycopg.connect(url) as conn:
        populate(conn, users=40)
    return url


@pytest.fixture
def service_file(server: PgServer, tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "pg_service.conf"
    path.write_text(f"[prod]\nhost=127.0.0.1\nport={server.port}\nuser=postgres\n")
    yield path


SPELLINGS = [
    "localhost",
    "socket in the query",
    "0.0.0.0",
    "IPv4-mapped IPv6",
    "hostaddr",
    "PG variables",
    "service file",
    "key=value with 127.1",
]


def spellings(server: PgServer, dbname: str) -> dict[str, tuple[str, dict[str, str]]]:
    """Other URLs (and environment variables) of one database on the test server, by the names in SPELLINGS."""
    port = server.port
    found = {
        "localhost": (f"postgresql://postgres@localhost:{port}/{dbname}", {}),
        "socket in the query": (f"postgresql://postgres@/{dbname}?host={server.root}&port={port}", {}),
        "0.0.0.0": (f"postgresql://postgres@0.0.0.0:{port}/{dbname}", {}),
        "IPv4-mapped IPv6": (f"postgresql://postgres@[::ffff:127.0.0.1]:{port}/{dbname}", {}),
        "hostaddr": (f"postgresql://postgres@sandbox-db.example.invalid:{port}/{dbname}?hostaddr=127.0.0.1", {}),
        "PG variables": (
            "postgresql:///",
            {"PGHOST": "127.0.0.1", "PGPORT": str(port), "PGUSER": "postgres", "PGDATABASE": dbname},
        ),
        "service file": (f"service=prod dbname={dbname}", {}),
        "key=value with 127.1": (f"host=127.1 port={port} user=postgres dbname='{dbname}'", {}),
    }
    assert list(found) == SPELLINGS
    return found


def _rules() -> Any:
    return parse_rules(yaml.safe_load(RULES))


def _databases(server: PgServer) -> set[str]:
    with psycopg.connect(server.url("postgres")) as conn:
        return {name for (name,) in conn.execute("SELECT datname FROM pg_database")}


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_of_the_source_is_refused(
    server: PgServer, production: str, spelling: str, service_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, env = spellings(server, PROD)[spelling]
    monkeypatch.setenv("PGSERVICEFILE", str(service_file))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    before = _databases(server)
    for dry_run in (True, False):
        with pytest.raises(ProductionGuardError, match=r"same database as the source database \(--from\)"):
            clone(production, url, _rules(), SALT, dry_run=dry_run)
    assert _databases(server) == before  # no work database was even created


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_of_production_in_the_spec_is_refused_by_clone_and_synth(
    server: PgServer, production: str, spelling: str, service_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = server.createdb("sandbox_guard_other_source")
    with psycopg.connect(source) as conn:
        populate(conn, users=5)
    url, env = spellings(server, PROD)[spelling]
    monkeypatch.setenv("PGSERVICEFILE", str(service_file))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = [("production in shipyard.yaml", production)]
    with pytest.raises(ProductionGuardError, match=r"same database as production in shipyard\.yaml"):
        clone(source, url, _rules(), SALT, production=spec)
    with pytest.raises(ProductionGuardError, match=r"same database as production in shipyard\.yaml"):
        synth(url, 3, production=spec)
    with psycopg.connect(production) as conn:  # production still holds its rows
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (40,)


def test_a_real_other_database_is_cloned_into_whatever_the_spelling(
    server: PgServer, production: str, service_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGSERVICEFILE", str(service_file))
    spec = [("production in shipyard.yaml", production)]
    for index, (url, env) in enumerate(spellings(server, f"sandbox_guard_sb{0}").values()):
        with monkeypatch.context() as scoped:
            for name, value in env.items():
                scoped.setenv(name, value)
            report = clone(production, url, _rules(), SALT, production=spec)
        assert sum(r.rows for r in report.results) > 40, index
    with psycopg.connect(server.url("sandbox_guard_sb0")) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (40,)
    synth(server.url("sandbox_guard_sb0"), 3, production=spec)


def test_unreachable_production_is_refused_unless_the_spelling_check_is_accepted(
    server: PgServer, production: str
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free = sock.getsockname()[1]
    nowhere = [("production in shipyard.yaml", f"postgresql://postgres@127.0.0.1:{free}/shop")]
    target = server.url("sandbox_guard_unreachable")
    with pytest.raises(ProductionGuardError, match=r"cannot ask production in shipyard\.yaml .* which database"):
        clone(production, target, _rules(), SALT, production=nowhere)
    with pytest.raises(ProductionGuardError, match="cannot ask"):
        synth(target, 3, production=nowhere)
    clone(production, target, _rules(), SALT, production=nowhere, unreachable=Unreachable.compare_urls)
    # Accepted means compared by spelling: the same spelling of the unreachable database is still refused.
    same = [("production in shipyard.yaml", f"postgresql://postgres@localhost:{free}/sandbox_guard_unreachable")]
    with pytest.raises(ProductionGuardError, match="may be the same database"):
        clone(production, target, _rules(), SALT, production=same, unreachable=Unreachable.compare_urls)


def test_a_role_that_may_not_ask_the_server_is_refused(server: PgServer, production: str) -> None:
    admin = psycopg.connect(server.url("postgres"), autocommit=True)
    try:
        admin.execute("DROP ROLE IF EXISTS guard_reader")
        admin.execute("CREATE ROLE guard_reader LOGIN CREATEDB")
        admin.execute("REVOKE EXECUTE ON FUNCTION pg_control_system() FROM PUBLIC")
        reader = f"postgresql://guard_reader@127.0.0.1:{server.port}/sandbox_guard_reader"
        with pytest.raises(ProductionGuardError, match=r"may not call pg_control_system\(\)") as refused:
            clone(production, reader, _rules(), SALT)
        assert "GRANT EXECUTE ON FUNCTION pg_control_system()" in str(refused.value)
    finally:
        admin.execute("GRANT EXECUTE ON FUNCTION pg_control_system() TO PUBLIC")
        admin.close()


def test_a_database_under_the_work_names_is_never_dropped_unless_the_clone_made_it(
    server: PgServer, production: str
) -> None:
    target = server.url("sandbox_guard_names")
    squatter = server.createdb("sandbox_guard_names__shipyard_new")
    with psycopg.connect(squatter) as conn:
        conn.execute("CREATE TABLE keep_me (v int)")
    with pytest.raises(ShipyardError, match="was not made by a clone"):
        clone(production, target, _rules(), SALT)
    assert "sandbox_guard_names__shipyard_new" in _databases(server)
    # Marked as the clone's (a leftover of a killed run): dropped, and the clone goes on.
    with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
        conn.execute(f"COMMENT ON DATABASE sandbox_guard_names__shipyard_new IS '{MARK}'")
    clone(production, target, _rules(), SALT)
    assert "sandbox_guard_names__shipyard_new" not in _databases(server)
    # Production under a work name is refused even with the mark, before anything is touched.
    named_like_work = server.createdb("sandbox_guard_x__shipyard_old")
    with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
        conn.execute(f"COMMENT ON DATABASE sandbox_guard_x__shipyard_old IS '{MARK}'")
    with pytest.raises(ProductionGuardError, match=r"'sandbox_guard_x__shipyard_old' .* same database as production"):
        clone(production, server.url("sandbox_guard_x"), _rules(), SALT, production=[("production", named_like_work)])
    assert "sandbox_guard_x__shipyard_old" in _databases(server)


def test_the_swap_touches_only_the_databases_it_identified(server: PgServer, production: str) -> None:
    target = server.createdb("sandbox_guard_swap")
    server.createdb("sandbox_guard_swap_other")
    with psycopg.connect(server.url("postgres"), autocommit=True) as admin:
        databases = guard_target(
            admin,
            "sandbox_guard_swap",
            "sandbox_guard_swap__shipyard_new",
            "sandbox_guard_swap__shipyard_old",
            [],
            "the target",
        )
        databases.create_staging("UTF8")
        # A script meant for the work database that reaches another one stops before it writes.
        with pytest.raises(ShipyardError, match="not the work database"):
            run_sql_script(target, databases.check_sql() + "CREATE TABLE written (v int);", "a script")
        with pytest.raises(ChangedUnderneath):
            databases.open_staging(target)
        # Another process puts another database under the target's name: the swap refuses and drops nothing.
        admin.execute("ALTER DATABASE sandbox_guard_swap RENAME TO sandbox_guard_swap_moved")
        admin.execute("ALTER DATABASE sandbox_guard_swap_other RENAME TO sandbox_guard_swap")
        with pytest.raises(ChangedUnderneath, match="changed while the clone ran"):
            databases.swap()
        databases.drop_staging()
    assert {"sandbox_guard_swap", "sandbox_guard_swap_moved"} <= _databases(server)
    assert "sandbox_guard_swap__shipyard_new" not in _databases(server)
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT to_regclass('written')").fetchone() == (None,)


def test_cli_refuses_a_spelling_of_production_and_accepts_the_spelling_check(
    server: PgServer, production: str, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    (tmp_path / "shipyard.yaml").write_text(
        "apiVersion: shipyard.dev/v1alpha1\nkind: Platform\norg: acme\ndomain: acme.example.com\n"
        "registry: {url: harbor.acme.example.com}\nenvironments:\n  - name: production\n"
        "    database: {url: 'postgresql://production-db.example.invalid:5432/acme', secretRef: production-db}\n"
    )
    env = {**os.environ, "SHIPYARD_SANDBOX_SALT": SALT}

    def shipyard(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "shipyard", "sandbox", "db", *args, "--root", str(tmp_path)],
            capture_output=True,
            text=True,
            check=False,
            env=env,
        )

    spelled = f"postgresql://postgres@[::ffff:127.0.0.1]:{server.port}/{PROD}"
    proc = shipyard("clone", "--from", production, "--to", spelled, "--rules", str(rules))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "cannot ask production in shipyard.yaml" in proc.stderr  # the spec's production is not reachable here
    accept = ("--unreachable-production", "compare-urls")
    proc = shipyard("clone", "--from", production, "--to", spelled, "--rules", str(rules), *accept)
    assert proc.returncode == 2 and "same database as the source database (--from)" in proc.stderr
    proc = shipyard(
        "clone", "--from", production, "--to", server.url("sandbox_guard_cli"), "--rules", str(rules), *accept
    )
    assert proc.returncode == 0, proc.stderr
    proc = shipyard("synth", "--to", server.url("sandbox_guard_cli"), "--rows", "3", *accept)
    assert proc.returncode == 0, proc.stderr
    proc = shipyard("synth", "--to", "postgresql://production-db.example.invalid/acme", "--rows", "3", *accept)
    assert proc.returncode == 2 and "may be the same database as production in shipyard.yaml" in proc.stderr
