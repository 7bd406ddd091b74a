"""`shipyard sandbox db clone` (masked, streamed, swapped) against a plain `pg_dump | psql` of the same
database, on one throw-away PostgreSQL server, in one run.

    python -m benchmarks sandbox [--users=N]     (default 1,000,000 users: about 4.5 million rows)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RULES = """
keep:
  users: [id, created_at]
  addresses: [id, user_id]
  orders: [id, user_id, total, placed_at]
  payments: [id, order_id, amount]
tables:
  users:
    email: fake.email
    full_name: fake.name
    phone: fake.phone
    notes: "null"
  addresses:
    line1: fake.address
    city: keep
  orders:
    status: keep
  payments:
    card_number: {rule: partial, keepLast: 4}
    token: hash
"""

SCHEMA = """
CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE, full_name text NOT NULL,
                    phone text, notes text, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE addresses (id bigserial PRIMARY KEY, user_id bigint NOT NULL REFERENCES users(id),
                        line1 text NOT NULL, city text NOT NULL);
CREATE TABLE orders (id bigserial PRIMARY KEY, user_id bigint NOT NULL REFERENCES users(id),
                     status text NOT NULL, total numeric(10,2) NOT NULL, placed_at timestamptz NOT NULL);
CREATE TABLE payments (id bigserial PRIMARY KEY, order_id bigint NOT NULL REFERENCES orders(id),
                       card_number text NOT NULL, token text UNIQUE, amount numeric(10,2) NOT NULL);
CREATE INDEX ON orders (user_id);
CREATE INDEX ON addresses (user_id);
"""

FILL = """
INSERT INTO users (email, full_name, phone, notes)
  SELECT 'user' || g || '@corp.test', 'Person ' || md5(g::text), '+49 ' || g, CASE WHEN g % 3 = 0 THEN md5(g::text) END
  FROM generate_series(1, {users}) g;
INSERT INTO addresses (user_id, line1, city)
  SELECT g, 'Street ' || g, 'City ' || (g % 500) FROM generate_series(1, {users}) g;
INSERT INTO orders (user_id, status, total, placed_at)
  SELECT 1 + (g::bigint * 7919) % {users}, (ARRAY['pending','paid','shipped'])[1 + g % 3], (g % 100000) / 100.0, now()
  FROM generate_series(1, {users} * 2) g;
INSERT INTO payments (order_id, card_number, token, amount)
  SELECT g, '4' || lpad(g::text, 15, '0'), md5('t' || g), 1 + (g % 10000) / 100.0
  FROM generate_series(1, {users}) g;
ANALYZE;
"""


def _timed(args: list[str], **kwargs: object) -> float:
    started = time.perf_counter()
    subprocess.run(args, check=True, **kwargs)  # type: ignore[call-overload]
    return time.perf_counter() - started


def run(argv: list[str]) -> None:
    import psycopg

    from shipyard.sandbox.db.localpg import LocalPostgres

    users = next((int(a.split("=", 1)[1]) for a in argv if a.startswith("--users=")), 1_000_000)
    server = LocalPostgres.start()
    try:
        source = server.createdb("bench_prod")
        with psycopg.connect(source, autocommit=True) as conn:
            conn.execute(SCHEMA)
            conn.execute(FILL.format(users=users))
            rows = sum(
                conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore[index]
                for t in ("users", "addresses", "orders", "payments")
            )
            size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]  # type: ignore[index]
        print(f"source: {rows:,} rows in 4 tables ({size})")

        plain = server.createdb("bench_plain")
        dump = subprocess.Popen(["pg_dump", "-d", source], stdout=subprocess.PIPE)
        plain_seconds = _timed(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", plain], stdin=dump.stdout, stdout=subprocess.DEVNULL
        )
        dump.wait()

        with tempfile.TemporaryDirectory() as tmp:
            rules = Path(tmp) / "rules.yaml"
            rules.write_text(RULES)
            env = {**os.environ, "SHIPYARD_SANDBOX_SALT": "benchmark-salt-0123456789"}
            clone_seconds = _timed(
                [
                    sys.executable,
                    "-m",
                    "shipyard",
                    "sandbox",
                    "db",
                    "clone",
                    "--from",
                    source,
                    "--to",
                    server.url("bench_sandbox"),
                    "--rules",
                    str(rules),
                    "--root",
                    tmp,
                ],
                env=env,
                cwd=tmp,
            )
        print()
        print("| tool | what | seconds | ratio |")
        print("| --- | --- | ---: | ---: |")
        print(f"| `pg_dump \\| psql` | plain copy, no masking | {plain_seconds:.1f} | 1.00 |")
        print(
            f"| `shipyard sandbox db clone` | masked (8 columns), then swapped in | {clone_seconds:.1f} | "
            f"{clone_seconds / plain_seconds:.2f} |"
        )
    finally:
        server.stop()
