"""Demo steps of the sandbox: a masked clone of a small seeded database, and the daily sync."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from shipyard.demo.context import DemoContext

_SCHEMA = """
CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL UNIQUE, full_name text NOT NULL, phone text);
CREATE TABLE orders (id serial PRIMARY KEY, user_id int NOT NULL REFERENCES users(id), contact_email text
                     REFERENCES users(email), total numeric(10,2) NOT NULL CHECK (total >= 0));
INSERT INTO users (email, full_name, phone) VALUES
  ('ada.lovelace@analytical.example', 'Ada Lovelace', '+44 20 7946 0018'),
  ('grace.hopper@navy.example', 'Grace Hopper', '+1 202 555 0147'),
  ('alan.turing@bletchley.example', 'Alan Turing', '+44 1908 640404');
INSERT INTO orders (user_id, contact_email, total) VALUES
  (1, 'ada.lovelace@analytical.example', 12.50), (2, NULL, 99.00), (3, 'alan.turing@bletchley.example', 5.25);
"""

_RULES = """# Masking rules: every column is named, copied as it is (keep) or masked by a rule. The salt is a
# secret and never lives here.
keep:
  users: [id]
  orders: [id, user_id, total]
tables:
  users:
    email: fake.email
    full_name: fake.name
    phone: {rule: partial, keepLast: 2}
  orders:
    contact_email: fake.email
"""


def _first_user(url: str) -> tuple[object, ...]:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT id, email, full_name, phone FROM users ORDER BY id LIMIT 1").fetchone()
    return tuple(row or ())


def clone_database(ctx: DemoContext) -> None:
    """Sandbox database. A small seeded PostgreSQL database is cloned with masking into the sandbox's, and the
    guard refuses a target that is production's (skipped when PostgreSQL is not installed)."""
    from shipyard.sandbox.db.localpg import LocalPostgres, bindir

    if bindir() is None or shutil.which("pg_dump") is None:
        ctx.console.print("[yellow]skipped:[/] PostgreSQL is not installed here (Debian: apt-get install postgresql)")
        return
    server = LocalPostgres.start({"fsync": "off"})
    try:
        import psycopg

        source = server.createdb("shop_production")
        with psycopg.connect(source) as conn:
            conn.execute(_SCHEMA)
        folder = Path(tempfile.mkdtemp(prefix="shipyard-demo-sandbox-", dir=ctx.scratch))
        rules = folder / "masking.yaml"
        rules.write_text(_RULES, encoding="utf-8")
        salt = folder / "salt"
        salt.write_text("demo-salt-keep-me-in-a-kubernetes-secret\n", encoding="utf-8")
        target = server.url("shop_sandbox")
        # Production's database in shipyard.yaml lives on a cluster this machine cannot reach: compare the
        # target with it by spelling only (the source given with --from is still asked who it is).
        common = [
            "--from",
            source,
            "--rules",
            str(rules),
            "--salt-file",
            str(salt),
            "--unreachable-production",
            "compare-urls",
        ]
        ctx.shipyard("sandbox", "db", "clone", *common, "--to", target, "--dry-run")
        ctx.shipyard("sandbox", "db", "clone", *common, "--to", target)
        ctx.console.print(f"before (production): {_first_user(source)}")
        ctx.console.print(f"after  (sandbox):    {_first_user(target)}")
        # The guard: the sandbox never writes to the production database, however the URL is spelled.
        ctx.shipyard("sandbox", "db", "clone", *common, "--to", source.replace("127.0.0.1", "localhost"), expect=2)
    finally:
        server.stop()


def sync_sandbox(ctx: DemoContext) -> None:
    """Sandbox. Production's images (by digest, as the rollback left them) are mirrored into the sandbox
    overlay with a 24h TTL; a second sync finds nothing to change."""
    ctx.shipyard("sandbox", "sync", "--dry-run")
    ctx.shipyard("sandbox", "sync")
    ctx.shipyard("sandbox", "sync")  # idempotent: nothing changed in production
    ctx.shipyard("sandbox", "status")
