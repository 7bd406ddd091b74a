"""A throw-away PostgreSQL server from the machine's own binaries (Debian's postgresql package), for the
demo, the benchmark and the tests: a temp folder, a free loopback port, trust auth on 127.0.0.1 only.

PostgreSQL refuses to run as root, so as root initdb and the server run as the ``postgres`` user.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from shipyard.errors import ShipyardError


def bindir() -> Path | None:
    """The newest installed PostgreSQL server's bin folder, or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@dataclass
class LocalPostgres:
    """A running server; stop it with ``stop()`` (it also removes its folder)."""

    root: Path
    port: int
    bin: Path

    @classmethod
    def start(cls, settings: dict[str, str] | None = None) -> LocalPostgres:
        """initdb into a temp folder and start the server; ShipyardError when PostgreSQL is not installed."""
        found = bindir()
        if found is None:
            raise ShipyardError("PostgreSQL is not installed", hint="install Debian's postgresql package")
        root = Path(tempfile.mkdtemp(prefix="shipyard-pg-"))
        data = root / "data"
        data.mkdir()
        if os.geteuid() == 0:
            shutil.chown(root, "postgres")
            shutil.chown(data, "postgres")
        initdb = [str(found / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
        subprocess.run(_as_postgres(initdb), check=True, capture_output=True)
        port = _free_port()
        options = {"listen_addresses": "127.0.0.1", "port": str(port), "unix_socket_directories": str(root)}
        options.update(settings or {})
        opts = " ".join(f"-c {key}={value}" for key, value in options.items())
        pg_ctl = [str(found / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(root / "log"), "-w", "start"]
        subprocess.run(_as_postgres(pg_ctl), check=True, capture_output=True)
        return cls(root=root, port=port, bin=found)

    def url(self, dbname: str) -> str:
        """A URL for a database on this server."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def createdb(self, name: str) -> str:
        """Create (or re-create) a database and return its URL."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        pg_ctl = [str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "stop"]
        subprocess.run(_as_postgres(pg_ctl), check=False, capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)
