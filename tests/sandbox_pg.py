"""The real PostgreSQL server of the sandbox tests: started once per test process, stopped at exit."""

from __future__ import annotations

import atexit
import shutil
from functools import cache

from shipyard.sandbox.db.localpg import LocalPostgres, bindir
from tests.realparts import missing

PgServer = LocalPostgres

# Durability is irrelevant for a throw-away test server; speed is not. Everything a client sends is logged
# (statements, every bound parameter in full, connections), so a test can prove a secret never reaches the log.
_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "log_statement": "all",
    "log_parameter_max_length": "-1",
    "log_connections": "on",
}


@cache
def pg_server() -> LocalPostgres:
    """Start the server (once per process), or skip/fail when PostgreSQL is not installed."""
    if bindir() is None or shutil.which("pg_dump") is None:
        missing("PostgreSQL", "install Debian's postgresql package (deps/apt-test.txt)")
    server = LocalPostgres.start(_SETTINGS)
    atexit.register(server.stop)
    return server


def server_log(server: LocalPostgres) -> str:
    """Everything the server has logged so far."""
    return (server.root / "log").read_text(encoding="utf-8", errors="replace")
