"""PostgreSQL connection strings read the way libpq reads them, and whether two may name the same database.

Pure and offline: no connection, no DNS. This is the spelling check that ``check``, ``render`` and
``validate`` apply to the spec's and the rendered jobs' URLs, where no server can be asked. The sandbox
commands that write a database ask the servers themselves (``shipyard.sandbox.db.identity``) and use
this only where a user explicitly accepts it.

Both libpq forms are parsed as libpq parses them (``postgresql://`` URIs with percent-decoding, several
hosts and query parameters that override the rest; ``key=value`` strings with quoting and backslash
escapes), then completed as libpq completes them: a service from ``pg_service.conf``, then the ``PG*``
environment variables, then libpq's defaults (a Unix socket on this machine, the user's name as the
database). Because the same URL runs in other places (a CronJob has no ``PGHOST``), a value the URL
leaves out counts as both what this environment gives and libpq's default.

Two URLs *may be the same database* when their database names may be equal and some host of one may be
some host of the other:
- every spelling of this machine is one place: a Unix socket, ``localhost``, ``127.0.0.0/8``, ``::1``,
  ``0.0.0.0``, ``::``, their IPv4-mapped IPv6 forms, the machine's own name and addresses;
- IP addresses compare by value (``127.1``, ``0x7f.0.0.1``, ``::ffff:10.0.0.5`` and ``10.0.0.5`` are one);
  ``hostaddr`` is where libpq connects, whatever ``host`` says;
- names compare case-insensitively without a trailing dot, and a name equals any longer name it starts
  (``db`` and ``db.production.svc.cluster.local``: a DNS search domain may complete one into the other);
- ports are ignored: a pooler such as PgBouncer listens on another port in front of the same server;
- a database name left to libpq's default (the user's name, which differs between machines) matches any.

What it cannot see: DNS (a CNAME, or a name and an IP address of one server). A false "same" only
refuses; a false "different" could overwrite production, so whatever cannot be read is refused too.
"""

from __future__ import annotations

import ipaddress
import os
import pwd
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shipyard.errors import ShipyardError
from shipyard.redact import MASK, redact

URI_PREFIXES = ("postgresql://", "postgres://")
_SPACE = " \t\n\v\f\r"  # C isspace(), which libpq uses
DEFAULT_PORT = 5432
# The environment variables libpq reads for the parameters that decide where it connects.
_ENV = {"host": "PGHOST", "hostaddr": "PGHOSTADDR", "port": "PGPORT", "dbname": "PGDATABASE", "user": "PGUSER"}
SYSCONFDIR = "/etc/postgresql-common"  # Debian's libpq and psycopg's bundled libpq look here for pg_service.conf


class ConninfoError(ShipyardError):
    """A connection string libpq would refuse, or one whose target cannot be worked out here.

    Its message never quotes the string: it may hold a password.
    """


def parse_conninfo(text: str) -> dict[str, str]:
    """The parameters of a libpq connection string (URI or ``key=value``), as libpq's parser gives them.

    Raises ConninfoError where libpq's parser fails. Keyword names are not checked against libpq's list.
    """
    if "\x00" in text:
        raise ConninfoError("a connection string cannot contain a NUL character")
    if text.startswith(URI_PREFIXES):
        return _parse_uri(text)
    return _parse_keywords(text)


def _parse_keywords(text: str) -> dict[str, str]:
    params: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        if text[i] in _SPACE:
            i += 1
            continue
        start = i
        while i < n and text[i] != "=" and text[i] not in _SPACE:
            i += 1
        name = text[start:i]
        while i < n and text[i] in _SPACE:
            i += 1
        if i >= n or text[i] != "=":
            # Never quote the word: after a password with a space, it would be the rest of the password.
            raise ConninfoError(f'missing "=" after the word at character {start + 1} of the connection string')
        i += 1
        while i < n and text[i] in _SPACE:
            i += 1
        value: list[str] = []
        quoted = i < n and text[i] == "'"
        i += quoted
        while True:
            if i >= n:
                if quoted:
                    raise ConninfoError("unterminated quoted string in the connection string")
                break
            char = text[i]
            if char == "\\":
                i += 1
                if i < n:
                    value.append(text[i])
                    i += 1
                continue
            if (quoted and char == "'") or (not quoted and char in _SPACE):
                i += 1
                break
            value.append(char)
            i += 1
        if not name:
            raise ConninfoError('an empty keyword before "=" in the connection string')
        params[name] = "".join(value)
    return params


def _decode(text: str) -> str:
    """libpq's percent-decoding of a URI part: spaces around it are dropped, a space inside it is an error
    (libpq 17 and later), ``+`` stays ``+``, and ``%00`` or a bad ``%`` sequence is an error."""
    stripped = text.strip(" ")
    if " " in stripped:
        raise ConninfoError("unexpected spaces in a part of the URI; use percent-encoded spaces (%20) instead")
    out = bytearray()
    raw = stripped.encode()
    i = 0
    while i < len(raw):
        if raw[i] != ord("%"):
            out.append(raw[i])
            i += 1
            continue
        pair = raw[i + 1 : i + 3].decode("ascii", "replace")
        if len(pair) != 2 or not all(c in "0123456789abcdefABCDEF" for c in pair):
            raise ConninfoError("an invalid percent-encoded token in a part of the URI")
        if pair == "00":
            raise ConninfoError("forbidden value %00 in a percent-encoded value")
        out.append(int(pair, 16))
        i += 3
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise ConninfoError("a part of the URI does not decode to UTF-8 text") from None


def _parse_uri(text: str) -> dict[str, str]:
    rest = text[len(next(p for p in URI_PREFIXES if text.startswith(p))) :]
    params: dict[str, str] = {}
    n = len(rest)
    at = next((i for i, c in enumerate(rest) if c in "@/"), n)
    p = 0
    if at < n and rest[at] == "@":
        user, colon, password = rest[:at].partition(":")
        if user:
            params["user"] = _decode(user)
        if colon and password:
            params["password"] = _decode(password)
        p = at + 1
    hosts: list[str] = []
    ports: list[str] = []
    while True:
        if p < n and rest[p] == "[":
            end = rest.find("]", p + 1)
            if end < 0:
                raise ConninfoError("end of string reached when looking for the matching ']' of an IPv6 address")
            if end == p + 1:
                raise ConninfoError("an IPv6 host address may not be empty in a URI")
            host, p = rest[p + 1 : end], end + 1
            if p < n and rest[p] not in ":/?,":
                raise ConninfoError(f"unexpected character '{rest[p]}' after an IPv6 address in a URI")
        else:
            start = p
            while p < n and rest[p] not in ":/?,":
                p += 1
            host = rest[start:p]
        hosts.append(host)
        terminator = rest[p] if p < n else ""
        port = ""
        if terminator == ":":
            p += 1
            start = p
            while p < n and rest[p] not in "/?,":
                p += 1
            port = rest[start:p]
            terminator = rest[p] if p < n else ""
        ports.append(port)
        if terminator != ",":
            break
        p += 1
    if ",".join(hosts):
        params["host"] = _decode(",".join(hosts))
    if ",".join(ports):
        params["port"] = _decode(",".join(ports))
    if terminator and terminator != "?":
        p += 1
        start = p
        while p < n and rest[p] != "?":
            p += 1
        if rest[start:p]:
            params["dbname"] = _decode(rest[start:p])
        terminator = rest[p] if p < n else ""
    if terminator:
        _parse_query(rest[p + 1 :], params)
    return params


def _parse_query(query: str, params: dict[str, str]) -> None:
    """URI query parameters: they override what the URI said before them (``?host=/socket``)."""
    for item in query.split("&") if query else []:
        keyword, equals, value = item.partition("=")
        if not equals:
            raise ConninfoError("a URI query parameter without '='")
        if "=" in value:
            raise ConninfoError("a URI query parameter with a second '='")
        keyword, value = _decode(keyword), _decode(value)
        if keyword == "ssl" and value == "true":  # libpq's JDBC compatibility
            keyword, value = "sslmode", "require"
        params[keyword] = value


# --- the service file -------------------------------------------------------------------------------------


def _service_files(environ: Mapping[str, str]) -> list[Path]:
    first = environ.get("PGSERVICEFILE")
    files = [Path(first)] if first else [Path(environ.get("HOME") or Path.home()) / ".pg_service.conf"]
    return [*files, Path(environ.get("PGSYSCONFDIR") or SYSCONFDIR) / "pg_service.conf"]


def read_service(name: str, environ: Mapping[str, str]) -> dict[str, str]:
    """The parameters of service ``name`` from the first service file that defines it, as libpq looks."""
    for path in _service_files(environ):
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            continue
        except (OSError, UnicodeDecodeError) as exc:
            raise ConninfoError(f"the service file {path} cannot be read: {exc}") from None
        found: dict[str, str] | None = None
        for number, raw in enumerate(lines, 1):
            line = raw.strip(_SPACE)
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                if found is not None:
                    break
                if line[1 : 1 + len(name)] == name and line[1 + len(name) : 2 + len(name)] == "]":
                    found = {}
                continue
            if found is None:
                continue
            if line.startswith("ldap"):
                raise ConninfoError(
                    f"{path}:{number}: service '{name}' is looked up in LDAP, which cannot be read here"
                )
            key, equals, value = line.partition("=")
            if not equals or not re.fullmatch(r"[a-z_]+", key):
                raise ConninfoError(f"{path}:{number}: syntax error in service file")
            if key == "service":
                raise ConninfoError(f"{path}:{number}: nested service specifications are not supported")
            found.setdefault(key, value)
        if found is not None:
            return found
    raise ConninfoError(f"service '{name}' is not defined in any service file libpq reads")


# --- where a connection string goes -------------------------------------------------------------------------

Place = tuple[str, str]  # ("local", ""), ("ip", canonical address) or ("name", lower-case host name)
LOCAL: Place = ("local", "")


@dataclass(frozen=True)
class Target:
    """The places a URL may connect to and the database names it may ask for (None: any name)."""

    places: frozenset[Place]
    dbnames: frozenset[str] | None


def _numeric(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address of a numeric host as libc reads one (``127.1``, ``0x7f.1``, ``[::1]``), else None."""
    try:
        infos = socket.getaddrinfo(host, None, 0, 0, 0, socket.AI_NUMERICHOST)
    except (OSError, UnicodeError, ValueError):
        return None
    address = ipaddress.ip_address(str(infos[0][4][0]).split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_local_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if address.is_loopback or address.is_unspecified:
        return True
    family = socket.AF_INET if address.version == 4 else socket.AF_INET6
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((str(address), 0))  # succeeds only for an address of this machine; sends nothing
    except OSError:
        return False
    return True


def _names_may_match(a: str, b: str) -> bool:
    left, right = a.split("."), b.split(".")
    shorter, longer = sorted((left, right), key=len)
    return longer[: len(shorter)] == shorter


def _place(host: str) -> Place:
    """Where one host entry connects: this machine, an IP address, or a name."""
    if not host or host.startswith(("/", "@")):  # a Unix socket (or Linux's abstract namespace): this machine
        return LOCAL
    address = _numeric(host)
    if address is not None:
        return LOCAL if _is_local_address(address) else ("ip", str(address))
    name = host.lower().rstrip(".")
    machine = socket.gethostname().lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost") or (machine and _names_may_match(name, machine)):
        return LOCAL
    return ("name", name)


def _places(params: Mapping[str, str]) -> set[Place]:
    """The places libpq tries for complete parameters: ``hostaddr`` wins over ``host``, entry by entry."""
    hosts = params.get("host", "").split(",")
    addrs = params.get("hostaddr", "").split(",") if params.get("hostaddr") else []
    if addrs and params.get("host") and len(addrs) != len(hosts):
        raise ConninfoError(f"{len(hosts)} host names cannot be matched to {len(addrs)} hostaddr values")
    for port in params.get("port", "").split(","):
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            raise ConninfoError(f"port '{port}' is not a TCP port number")
    places: set[Place] = set()
    for index in range(max(len(addrs), len(hosts))):
        addr = addrs[index] if addrs else ""
        if addr:
            if _numeric(addr) is None:
                raise ConninfoError(f"hostaddr '{addr}' is not a numeric IP address")
            places.add(_place(addr))
        else:
            places.add(_place(hosts[index] if index < len(hosts) else ""))
    return places


def _complete(given: Mapping[str, str], environ: Mapping[str, str], *, service_from_env: bool) -> dict[str, str]:
    """libpq's completion of the parameters: the service's, then the environment's, then nothing (defaults)."""
    params = dict(given)
    service = params.get("service") or (environ.get("PGSERVICE") if service_from_env else None)
    if service:
        for key, value in read_service(service, environ).items():
            params.setdefault(key, value)
    for key, variable in _ENV.items():
        if key not in params and environ.get(variable) is not None:
            params[key] = environ[variable]
    return params


def target(url: str, environ: Mapping[str, str] | None = None) -> Target:
    """Everywhere ``url`` may connect and every database it may ask for, here or in another environment."""
    environ = os.environ if environ is None else environ
    given = parse_conninfo(url)
    here = _complete(given, environ, service_from_env=True)
    elsewhere = _complete(given, {k: v for k, v in environ.items() if not k.startswith("PG")} | _files(environ),
                          service_from_env=False)  # fmt: skip
    places = _places(here) | _places(elsewhere)
    names: set[str] = set()
    for params in (here, elsewhere):
        name = params.get("dbname") or params.get("user")
        if not name:
            return Target(frozenset(places), None)  # the user's login name: not known for another machine
        names.add(name)
    return Target(frozenset(places), frozenset(names))


def resolve(url: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The parameters libpq would use here: the URL's, then its service's, then the ``PG*`` variables'."""
    return _complete(parse_conninfo(url), os.environ if environ is None else environ, service_from_env=True)


def database_name(url: str, environ: Mapping[str, str] | None = None) -> str:
    """The database libpq would ask for here: the URL's, the service's, PGDATABASE, else the user name."""
    params = resolve(url, environ)
    return params.get("dbname") or params.get("user") or pwd.getpwuid(os.geteuid()).pw_name


def _files(environ: Mapping[str, str]) -> dict[str, str]:
    # Service files are looked up the same way elsewhere: only the PG* variables of this shell are left out.
    return {k: environ[k] for k in ("PGSERVICEFILE", "PGSYSCONFDIR") if k in environ}


def _describe(place: Place) -> str:
    return "this machine" if place == LOCAL else place[1]


def may_be_same(a: str, b: str, environ: Mapping[str, str] | None = None) -> str | None:
    """Why URLs ``a`` and ``b`` may name the same database, or None when their spellings rule it out.

    ConninfoError when either cannot be read (then nothing can be ruled out).
    """
    left, right = target(a, environ), target(b, environ)
    if left.dbnames is not None and right.dbnames is not None:
        common = left.dbnames & right.dbnames
        if not common:
            return None
        database = f"database '{sorted(common)[0]}'"
    else:
        database = "a database whose name libpq takes from the user name"
    for place in sorted(left.places):
        for other in sorted(right.places):
            if place == other or (place[0] == other[0] == "name" and _names_may_match(place[1], other[1])):
                where = _describe(place) if place == other else f"{place[1]} and {other[1]} (a search domain)"
                return f"both name {database} on {where}"
    return None


def printable(url: str) -> str:
    """The connection string as it may be printed or logged: ``shipyard.redact`` hides its password, then
    libpq's own reading of the result confirms that none is left.

    When a password might survive (a percent-encoded keyword, a string libpq would not parse), nothing of
    the string is shown.
    """
    shown = redact(url)
    try:
        safe = parse_conninfo(shown).get("password") in (None, MASK)
    except ConninfoError:
        safe = "password" not in url and "@" not in url
    return shown if safe else "(a connection string, not shown: it may hold a password)"


def passwords(url: str) -> list[str]:
    """The password libpq would send for ``url`` (as a list for ``redact``'s known secrets); empty when the
    URL holds none or cannot be read."""
    try:
        password = parse_conninfo(url).get("password")
    except ConninfoError:
        return []
    return [password] if password else []
