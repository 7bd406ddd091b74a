"""Demo steps of the sandbox: a masked clone of a small seeded database, and the daily sync."""

from __future__ import annotations

import hashlib
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
    """Clone a small seeded PostgreSQL database with masking (skipped when PostgreSQL is not installed)."""
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


def _stand_in_digest(service: str) -> str:
    return "sha256:" + hashlib.sha256(f"demo {service} v1.0.0".encode()).hexdigest()


def _ensure_production_state(ctx: DemoContext) -> bool:
    """Give the local config repo production's promotable state when render has not run."""
    from shipyard.configrepo.promotable import promotable_path, set_images
    from shipyard.git import Git
    from shipyard.spec.loader import load_spec
    from shipyard.workspace.discovery import discover

    bare = ctx.repo / ".shipyard" / "gitops-config.git"
    if not bare.is_dir():
        ctx.console.print("[yellow]skipped:[/] this platform has no local config repo")
        return False
    repo = Git(bare)
    if repo.has_ref("main") and repo.execute("cat-file", "-e", f"main:{promotable_path('production')}").returncode == 0:
        return True
    platform = load_spec(ctx.repo / "shipyard.yaml")
    services = sorted(project.name for project in discover(ctx.repo).services)
    work = ctx.scratch / "config-work"
    Git(ctx.scratch).run("clone", "--quiet", str(bare), str(work))
    git = Git(work)
    if not git.has_ref("refs/remotes/origin/main"):
        git.run("checkout", "--quiet", "-b", "main")
    else:
        git.run("checkout", "--quiet", "main")
    # Stand-in digests: what a promotion pins (the sandbox mirrors them; nothing here pulls them).
    set_images(
        work / promotable_path("production"),
        {platform.registry.image(name): _stand_in_digest(name) for name in services},
    )
    git.commit("Production runs v1.0.0 (demo stand-in for render and a promotion)")
    git.push("origin", ["HEAD:refs/heads/main"])
    ctx.console.print("render has not run: created production's promotable state in the config repo")
    return True


def sync_sandbox(ctx: DemoContext) -> None:
    """Mirror production's images into the sandbox overlay with a 24h TTL, then show its status."""
    if not _ensure_production_state(ctx):
        return
    ctx.shipyard("sandbox", "sync", "--dry-run")
    ctx.shipyard("sandbox", "sync")
    ctx.shipyard("sandbox", "sync")  # idempotent: nothing changed in production
    ctx.shipyard("sandbox", "status")
