"""PostgreSQL plumbing shared by the clone and the generator: connections, URLs with another database,
and running pg_dump/psql."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

from shipyard.dburl import passwords, printable
from shipyard.errors import ShipyardError
from shipyard.redact import redact


def connect(url: str, **options: Any) -> Any:
    """A psycopg connection, or a ShipyardError that names the (redacted) URL and libpq's reason."""
    import psycopg

    try:
        return psycopg.connect(url, **options)
    except psycopg.OperationalError as exc:
        raise ShipyardError(f"cannot connect to {printable(url)}: {redact(str(exc).strip(), passwords(url))}") from None


def with_dbname(url: str, dbname: str) -> str:
    """The same connection parameters with another database name (a key=value conninfo string)."""
    from psycopg.conninfo import make_conninfo

    return make_conninfo(url, dbname=dbname)


def given_options(url: str) -> str | None:
    """The ``options`` libpq would send for ``url``: the URL's own, else PGOPTIONS (which a URL's replaces)."""
    import os

    from psycopg.conninfo import conninfo_to_dict

    return str(conninfo_to_dict(url).get("options") or "") or os.environ.get("PGOPTIONS") or None


def tool(name: str) -> str:
    """The path of a PostgreSQL client program, or a ShipyardError saying how to install it."""
    found = shutil.which(name)
    if found is None:
        raise ShipyardError(f"'{name}' is not installed", hint="install the postgresql-client package")
    return found


def without_password(url: str) -> tuple[str, dict[str, str] | None]:
    """``url`` as a key=value string without its password, and the environment that gives the password to a
    client program (PGPASSWORD), or None when there is none: a command line is visible to every user of the
    machine in the process list, an environment is not."""
    import os

    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = {key: str(value) for key, value in conninfo_to_dict(url).items()}
    password = params.pop("password", None)
    return make_conninfo("", **params), ({**os.environ, "PGPASSWORD": password} if password else None)


def dump_section(source: str, section: str) -> str:
    """The SQL of one pg_dump section (pre-data: types, tables; post-data: indexes, keys, triggers)."""
    conninfo, env = without_password(source)
    proc = subprocess.run(
        [tool("pg_dump"), "--schema-only", f"--section={section}", "--no-owner", "--no-privileges", "-d", conninfo],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise ShipyardError(
            f"pg_dump of {printable(source)} ({section}) failed: {redact(proc.stderr.strip(), passwords(source))}"
        )
    return proc.stdout


def run_sql_script(target: str, script: str, what: str) -> None:
    """Run a SQL script with psql in one transaction, stopping at the first error."""
    conninfo, env = without_password(target)
    proc = subprocess.run(
        [tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-d", conninfo, "-f", "-"],
        env=env,
        input=script,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise ShipyardError(f"{what} failed on {printable(target)}: {redact(proc.stderr.strip(), passwords(target))}")
