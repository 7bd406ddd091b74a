"""Which database a connection reached, asked of the server itself: the guard that keeps the sandbox off production.

A URL can be spelt many ways (another host name, ``0.0.0.0``, an IPv4-mapped IPv6 address, ``hostaddr``,
a socket in the query string, ``PG*`` variables filling the gaps), so before anything is written the clone
and the generator connect to the target and to every production database and compare what the servers
say they are:

- the cluster's system identifier (``pg_control_system()``, which every role may call unless an
  administrator revoked it): unique to one ``initdb``, and shared by a primary and its physical standbys,
  so a standby of production is production;
- the database's oid in that cluster, and its name.

Two databases are the same when both are equal. The data directory is not used: reading it needs
``pg_read_all_settings``, and it is a path (the same on every Debian server), not an identity. A server
made from a base backup of production keeps production's identifier, and is treated as production:
a false "same" only refuses.

Whatever cannot be asked is refused: a production database that cannot be reached, a role that may not
call ``pg_control_system()``. Only an unreachable production database named in ``shipyard.yaml`` may,
when the user says so, be compared by the spelling of its URL instead (``shipyard.dburl``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shipyard.dburl import ConninfoError, may_be_same, printable
from shipyard.errors import ShipyardError
from shipyard.sandbox.db.pg import connect

# How long to wait for a production server before calling it unreachable.
CONNECT_TIMEOUT = 10
_GRANT = "GRANT EXECUTE ON FUNCTION pg_control_system() TO <the role in the URL>"


class ProductionGuardError(ShipyardError):
    """The target database is (or may be, or cannot be shown not to be) a production database."""


class Unreachable(StrEnum):
    """What to do when a production database named in shipyard.yaml cannot be reached to ask its identity."""

    refuse = "refuse"
    compare_urls = "compare-urls"


@dataclass(frozen=True)
class Identity:
    """A database as its server describes it; ``oid`` is None for a name that no database has there (yet)."""

    system: int
    oid: int | None
    name: str
    origin: str  # where the URL came from and the URL, redacted: for messages

    def same_database(self, other: Identity) -> bool:
        """True when both are one database: the same cluster (or a standby of it) and the same oid."""
        return self.system == other.system and self.oid is not None and self.oid == other.oid


def system_identifier(conn: Any, where: str) -> int:
    """The cluster's system identifier, or a refusal saying why it cannot be read."""
    import psycopg

    try:
        row = conn.execute("SELECT system_identifier FROM pg_control_system()").fetchone()
    except psycopg.errors.InsufficientPrivilege:
        conn.rollback()
        raise ProductionGuardError(
            f"cannot tell which server {where} is: its role may not call pg_control_system()",
            hint=f"ask an administrator to run: {_GRANT}",
        ) from None
    except psycopg.Error as exc:
        conn.rollback()
        raise ProductionGuardError(f"cannot tell which server {where} is: {str(exc).strip()}") from None
    if row is None or row[0] is None:
        raise ProductionGuardError(f"cannot tell which server {where} is: it reports no system identifier")
    return int(row[0])


def database_oid(conn: Any, name: str) -> int | None:
    """The oid of the database called ``name`` on the server ``conn`` is connected to, or None."""
    row = conn.execute("SELECT oid FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return int(row[0]) if row else None


def identify(conn: Any, origin: str) -> Identity:
    """The identity of the database ``conn`` is connected to."""
    system = system_identifier(conn, origin)
    row = conn.execute("SELECT oid, datname FROM pg_database WHERE datname = current_database()").fetchone()
    return Identity(system, int(row[0]), str(row[1]), origin)


def identify_named(conn: Any, name: str, origin: str) -> Identity:
    """The identity of database ``name`` on the server ``conn`` is connected to (its oid is None if absent)."""
    return Identity(system_identifier(conn, origin), database_oid(conn, name), name, origin)


def ask(url: str, origin: str) -> Identity:
    """Connect to ``url`` and ask which database it is; ShipyardError when it cannot be reached."""
    with connect(url, connect_timeout=CONNECT_TIMEOUT) as conn:
        return identify(conn, f"{origin} ({printable(url)})")


def production_identities(
    production: Iterable[tuple[str, str]], unreachable: Unreachable = Unreachable.refuse
) -> tuple[list[Identity], list[tuple[str, str]]]:
    """Ask every production URL (given with where it came from) which database it is.

    Returns the identities and the URLs that could not be reached but may be compared by spelling
    (only with ``Unreachable.compare_urls``); otherwise an unreachable one is refused.
    """
    identities: list[Identity] = []
    unverified: list[tuple[str, str]] = []
    for origin, url in production:
        try:
            identities.append(ask(url, origin))
        except ProductionGuardError:
            raise
        except ShipyardError as exc:
            if unreachable is Unreachable.compare_urls:
                unverified.append((origin, url))
                continue
            raise ProductionGuardError(
                f"cannot ask {origin} ({printable(url)}) which database it is, so the target cannot be shown to be "
                f"another one: {exc.message}",
                hint="run where production is reachable, or pass --unreachable-production compare-urls to "
                "compare it with the target by the spelling of the URLs only",
            ) from None
    return identities, unverified


def refuse_same(target: Identity, production: Iterable[Identity]) -> None:
    """Raise when ``target`` is one of the production databases."""
    for identity in production:
        if target.same_database(identity):
            raise ProductionGuardError(
                f"refusing to write to {target.origin}: it is the same database as {identity.origin} "
                f"(server {target.system}, database '{target.name}', oid {target.oid})",
                hint="the sandbox must never point at production; give a separate sandbox database URL",
            )


def refuse_by_spelling(target: str, unverified: Iterable[tuple[str, str]]) -> None:
    """Raise when ``target`` may be one of the unreachable production URLs, by libpq's reading of both."""
    for origin, url in unverified:
        try:
            reason = may_be_same(target, url)
        except ConninfoError as exc:
            raise ProductionGuardError(
                f"cannot compare {printable(target)} with {origin} ({printable(url)}): {exc.message}"
            ) from None
        if reason is not None:
            raise ProductionGuardError(
                f"refusing to write to {printable(target)}: it may be the same database as {origin} "
                f"({printable(url)}): {reason}",
                hint="the sandbox must never point at production; give a separate sandbox database URL",
            )
