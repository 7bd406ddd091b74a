"""Database URLs: parsing, display without secrets, and the guard that keeps the sandbox off production.

Two URLs name the same database when their database names match, their ports match, and their hosts
are the same name or resolve to a common address. The comparison is deliberately generous: a false
"same" only refuses a run, a false "different" could overwrite production.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from dataclasses import dataclass

from shipyard.errors import ShipyardError
from shipyard.redact import redact

DEFAULT_PORT = 5432


class ProductionGuardError(ShipyardError):
    """The target database is (or may be) a production database."""


@dataclass(frozen=True)
class Endpoint:
    """Where a URL points: the hosts (names or socket folders), the port and the database name."""

    hosts: tuple[str, ...]
    port: int
    dbname: str


def endpoint(url: str) -> Endpoint:
    """Parse a libpq URL or key=value string into the parts the guard compares, libpq defaults applied."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(url)
    except Exception as exc:  # psycopg raises ProgrammingError with libpq's own message
        raise ShipyardError(f"'{redact(url)}' is not a PostgreSQL URL: {exc}") from None
    hosts = tuple(h.strip().lower() for h in str(params.get("host") or params.get("hostaddr") or "").split(",") if h)
    ports = [p for p in str(params.get("port") or "").split(",") if p]
    try:
        port = int(ports[0]) if ports else DEFAULT_PORT
    except ValueError:
        raise ShipyardError(f"'{redact(url)}': port '{ports[0]}' is not a number") from None
    user = str(params.get("user") or "")
    dbname = str(params.get("dbname") or user)
    return Endpoint(hosts=hosts or ("localhost",), port=port, dbname=dbname)


def _addresses(host: str, port: int) -> set[str]:
    if host.startswith("/"):
        return {f"unix:{host.rstrip('/')}"}
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return set()  # an unresolvable name (e.g. a cluster-internal service) is compared by name only
    return {str(info[4][0]) for info in infos}


def same_database(a: str, b: str) -> bool:
    """True when two URLs name, or may name, the same database."""
    left, right = endpoint(a), endpoint(b)
    if left.dbname != right.dbname or left.port != right.port:
        return False
    if set(left.hosts) & set(right.hosts):
        return True
    resolved_left = set().union(*(_addresses(h, left.port) for h in left.hosts))
    resolved_right = set().union(*(_addresses(h, right.port) for h in right.hosts))
    return bool(resolved_left & resolved_right)


def refuse_production(target: str, production: Iterable[tuple[str, str]]) -> None:
    """Raise when ``target`` is any of the production URLs; each is given with where it came from."""
    for origin, url in production:
        if same_database(target, url):
            raise ProductionGuardError(
                f"refusing to write to {redact(target)}: it is the same database as {origin} ({redact(url)})",
                hint="the sandbox must never point at production; give a separate sandbox database URL",
            )
