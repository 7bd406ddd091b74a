"""Connection strings read as libpq reads them, and the offline check of whether two name the same database.

The parser is compared with libpq's own (PQconninfoParse, through psycopg) on generated strings of both forms.
The same-database check is given many spellings of one server, generated here, and must see through each.
"""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from psycopg.conninfo import conninfo_to_dict

from shipyard.dburl import ConninfoError, may_be_same, parse_conninfo, passwords, printable, target

KEYWORDS = ["host", "hostaddr", "port", "dbname", "user", "password", "application_name", "sslmode", "options"]
TEXT = st.text(alphabet=st.sampled_from("abcXYZ019 -._/:@,?&=%'\\\"\t#[]ü"), max_size=12)


def libpq(text: str) -> dict[str, str] | None:
    """libpq's reading, or None when libpq refuses the string (or gives bytes that are not UTF-8, which we refuse)."""
    try:
        return {k: str(v) for k, v in conninfo_to_dict(text).items()}
    except (psycopg.ProgrammingError, UnicodeDecodeError):
        return None


def ours(text: str) -> dict[str, str] | None:
    try:
        return parse_conninfo(text)
    except ConninfoError:
        return None


def _keyword_value(value: str, style: str) -> str:
    if style == "quoted":
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    escaped = "".join("\\" + c if c in " \t\\'" else c for c in value)
    return escaped if escaped and not escaped.startswith("'") else "''" if not value else "\\" + escaped


keyword_strings = st.lists(
    st.tuples(st.sampled_from(KEYWORDS), TEXT, st.sampled_from(["plain", "quoted"]), st.sampled_from(["", " ", "\t "])),
    max_size=5,
).map(lambda items: " ".join(f"{k}{sp}={sp}{_keyword_value(v, style)}" for k, v, style, sp in items))

PART = st.text(alphabet=st.sampled_from("abcXY019-._~!$'()*+;"), max_size=8)
ENCODED = st.text(alphabet=st.sampled_from("abc/:@,?&=% #[]ü"), max_size=6).map(lambda t: quote(t, safe=""))
HOST = st.one_of(
    PART,
    ENCODED,
    st.sampled_from(["127.0.0.1", "[::1]", "[::ffff:127.0.0.1]", "db.example.com", "%2Ftmp", "0.0.0.0", ""]),
)
uris = st.builds(
    lambda scheme, user, password, hosts, ports, db, query: (
        scheme
        + (f"{user}{':' + password if password is not None else ''}@" if user is not None else "")
        + ",".join(h + (f":{p}" if p is not None else "") for h, p in zip(hosts, ports, strict=False))
        + (f"/{db}" if db is not None else "")
        + ("?" + "&".join(f"{k}={v}" for k, v in query) if query else "")
    ),
    st.sampled_from(["postgresql://", "postgres://"]),
    st.none() | PART | ENCODED,
    st.none() | PART | ENCODED,
    st.lists(HOST, min_size=1, max_size=3),
    st.lists(st.none() | st.sampled_from(["", "5432", "6432", "1"]), min_size=3, max_size=3),
    st.none() | PART | ENCODED,
    st.lists(st.tuples(st.sampled_from(KEYWORDS), st.one_of(PART, ENCODED)) | st.just(("ssl", "true")), max_size=3),
)


@settings(max_examples=600, deadline=None)
@given(text=st.one_of(uris, keyword_strings))
def test_the_parser_reads_what_libpq_reads(text: str) -> None:
    assert ours(text) == libpq(text)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(TEXT, TEXT.map(lambda t: "postgresql://" + t), TEXT.map(lambda t: "host=" + t)))
def test_whatever_libpq_refuses_is_refused_or_names_an_unknown_keyword(text: str) -> None:
    theirs, mine = libpq(text), ours(text)
    if theirs is not None:
        assert mine == theirs
    elif mine is not None:  # libpq checks keyword names against its own list; we leave that to libpq
        assert set(mine) - set(KEYWORDS) - {"sslmode"}, (text, mine)


# --- many spellings of one server ---------------------------------------------------------------------------

NO_ENV: dict[str, str] = {"HOME": "/nonexistent"}


def _local_spellings() -> list[str]:
    """Every way of saying "this machine, database app" that libpq reads."""
    return [
        "postgresql://localhost/app",
        "postgresql://LOCALHOST./app",
        "postgresql://127.0.0.1:5432/app",
        "postgresql://127.1:6432/app",
        "postgresql://127.0.0.42/app",
        "postgresql://0.0.0.0/app",
        "postgresql://0/app",
        "postgresql://[::1]/app",
        "postgresql://[::]/app",
        "postgresql://[::ffff:127.0.0.1]/app",
        "postgresql://[0:0:0:0:0:ffff:7f00:1]/app",
        "postgresql:///app",
        "postgresql:///app?host=/var/run/postgresql",
        "postgresql://%2Ftmp/app",
        "postgresql://db.example.com/app?host=/tmp",
        "postgresql://db.example.com/app?hostaddr=127.0.0.1",
        "postgresql://db.example.com,localhost/app",
        "postgresql://user@/app",
        "postgresql://other-db/x?dbname=app&host=localhost",
        "host=localhost dbname=app",
        "host='127.0.0.1' port=5433 dbname = 'app'",
        "hostaddr=::1 host=db.example.com dbname=app",
        "dbname=app",
        f"postgresql://{socket.gethostname()}/app",
        f"postgresql://{socket.gethostname().upper()}./app",
    ]


SAME_SERVER = st.sampled_from(_local_spellings())


@settings(max_examples=200, deadline=None)
@given(a=SAME_SERVER, b=SAME_SERVER)
def test_every_spelling_of_this_machine_is_the_same_database(a: str, b: str) -> None:
    assert may_be_same(a, b, NO_ENV) is not None


@settings(max_examples=100, deadline=None)
@given(a=SAME_SERVER, name=st.text(alphabet="abcdefgh_", min_size=1, max_size=8))
def test_another_database_name_on_the_same_server_is_another_database(a: str, name: str) -> None:
    assume(name != "app")
    assert may_be_same(a, f"postgresql://localhost/{name}", NO_ENV) is None


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("postgresql://Prod-DB.example.com/app", "postgresql://prod-db.example.com./app"),
        ("postgresql://prod-db/app", "postgresql://prod-db.production.svc.cluster.local/app"),
        ("postgresql://10.0.0.5/app", "postgresql://[::ffff:10.0.0.5]:6432/app"),
        ("postgresql://10.0.0.5/app", "postgresql://010.0.0.5/app?hostaddr=10.0.0.5"),
        ("postgresql://prod/app", "postgresql://sandbox,prod/app"),
        ("postgresql://prod/app", "host=sandbox,prod port=5432,5433 dbname=app"),
        ("postgresql://alice@prod/", "postgresql://prod/alice"),
        ("postgresql://prod", "postgresql://prod/app"),  # no database name: libpq takes the user's name
    ],
)
def test_other_spellings_of_one_remote_server(a: str, b: str) -> None:
    assert may_be_same(a, b, NO_ENV) is not None
    assert may_be_same(b, a, NO_ENV) is not None


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("postgresql://db.production.svc.cluster.local/app", "postgresql://db.sandbox.svc.cluster.local/app"),
        ("postgresql://prod/app", "postgresql://prod/app_sandbox"),
        ("postgresql://10.0.0.5/app", "postgresql://10.0.0.6/app"),
        ("postgresql://localhost/App", "postgresql://localhost/app"),  # database names are case-sensitive
    ],
)
def test_different_databases_are_told_apart(a: str, b: str) -> None:
    assert may_be_same(a, b, NO_ENV) is None


def test_the_environment_fills_what_the_url_leaves_out() -> None:
    # libpq takes PGHOST and PGDATABASE for what the URL does not say; the default (a socket here) still
    # counts, because the same URL runs elsewhere without those variables.
    env = {**NO_ENV, "PGHOST": "prod.example.com", "PGDATABASE": "shop"}
    assert may_be_same("postgresql://", "postgresql://prod.example.com/shop", env) is not None
    assert may_be_same("postgresql://", "postgresql://localhost/shop", env) is not None
    assert may_be_same("postgresql:///shop", "postgresql://prod.example.com/shop", NO_ENV) is None
    env = {**NO_ENV, "PGHOSTADDR": "10.1.2.3"}
    assert may_be_same("postgresql:///app", "postgresql://10.1.2.3/app", env) is not None
    # libpq connects to PGHOSTADDR even when the URL names a host: the host is then only a name for TLS.
    assert may_be_same("postgresql://x.example.com/app", "postgresql://10.1.2.3/app", env) is not None
    env = {**NO_ENV, "PGUSER": "shop"}
    assert target("postgresql://prod", env).dbnames is None  # the default database is a user name: unknown


def test_a_service_is_resolved_or_refused(tmp_path: Path) -> None:
    services = tmp_path / "pg_service.conf"
    services.write_text("# production\n[prod]\nhost=prod.example.com\ndbname=shop\n\n[other]\nhost=x\n")
    env = {**NO_ENV, "PGSERVICEFILE": str(services)}
    assert may_be_same("service=prod", "postgresql://prod.example.com/shop", env) is not None
    assert may_be_same("postgresql://?service=prod", "postgresql://prod.example.com/shop", env) is not None
    assert may_be_same("service=prod dbname=other", "postgresql://prod.example.com/shop", env) is None
    with pytest.raises(ConninfoError, match="service 'missing' is not defined"):
        may_be_same("service=missing", "postgresql://prod.example.com/shop", env)
    with pytest.raises(ConninfoError, match="service 'prod' is not defined"):  # PGSERVICE counts too
        may_be_same("dbname=shop", "postgresql://x/shop", {**NO_ENV, "PGSERVICE": "prod"})
    services.write_text("[prod]\nldap://ldap.example.com/dc=example?uniqueMember?one?(cn=prod)\n")
    with pytest.raises(ConninfoError, match="LDAP"):
        may_be_same("service=prod", "postgresql://x/shop", env)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://[::1/app",
        "postgresql://host/db?port",
        "postgresql://h%zz/app",
        "host='unterminated",
        "host",
        "postgresql://h:notaport/app",
        "hostaddr=db.example.com dbname=app",
        "host=a,b hostaddr=10.0.0.1 dbname=app",
    ],
)
def test_what_cannot_be_read_is_an_error(url: str) -> None:
    with pytest.raises(ConninfoError):
        may_be_same(url, "postgresql://x/app", NO_ENV)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:s3cret@h/db", "postgresql://u:***@h/db"),
        ("postgresql://h/db?password=s3cret&sslmode=require", "postgresql://h/db?password=***&sslmode=require"),
        ("host=h password='s3 cret' dbname=d", "host=h password='***' dbname=d"),
        ("host=h password=s3\\ cret,x dbname=d", "host=h password=*** dbname=d"),
        ("postgresql://h/db?pass%77ord=s3cret", "(a connection string, not shown: it may hold a password)"),
        ("postgresql://h/db", "postgresql://h/db"),
    ],
)
def test_redact_never_shows_a_password(url: str, shown: str) -> None:
    assert printable(url) == shown


def _with_password(base: str, password: str, where: int) -> str:
    if not base.startswith("postgres"):
        return f"{base} password={_keyword_value(password, 'quoted' if where % 2 else 'plain')}"
    if where % 2:
        return base + ("&" if "?" in base else "?") + "password=" + quote(password, safe="")
    return base.replace("://", f"://u:{quote(password, safe='')}@", 1) if "@" not in base else base + "?password=x"


@settings(max_examples=300, deadline=None)
@given(
    base=st.one_of(uris, keyword_strings), password=TEXT.filter(lambda t: len(t.strip()) > 2), where=st.integers(0, 3)
)
def test_redact_hides_every_password_libpq_would_send(base: str, password: str, where: int) -> None:
    text = _with_password(base, password, where)
    assume(libpq(text) is not None and libpq(text).get("password"))  # type: ignore[union-attr]
    shown = printable(text)
    assert (libpq(shown) or {}).get("password") in (None, "***")


@pytest.mark.parametrize(
    "url",
    ["password = my secret", "postgresql://u:se%zzcret@h/db", "postgresql://h/db?password=se cret", "host=h secret"],
)
def test_errors_never_quote_the_connection_string(url: str) -> None:
    with pytest.raises(ConninfoError) as refused:
        parse_conninfo(url)
    assert "secret" not in str(refused.value) and "cret" not in str(refused.value)


def test_printable_is_the_one_redaction_then_libpqs_check() -> None:
    """A shape the shared redaction hides (a JSON-ish quote) is hidden here the same way: one redactor."""
    from shipyard.redact import redact

    for url in ["postgresql://u:pa ss@h/db", 'host=h password="x y" dbname=d', "postgresql://h/db?password=a%26b"]:
        assert printable(url) in (redact(url), "(a connection string, not shown: it may hold a password)")


@pytest.mark.parametrize(
    ("url", "found"),
    [
        ("postgresql://u:s3cret@h/db", ["s3cret"]),
        ("host=h password='s3 cret'", ["s3 cret"]),
        ("postgresql://h/db?password=a%20b", ["a b"]),
        ("postgresql://h/db", []),
        ("password = my secret", []),  # unreadable: nothing to add, printable() hides it whole
    ],
)
def test_passwords_are_the_ones_libpq_would_send(url: str, found: list[str]) -> None:
    assert passwords(url) == found
