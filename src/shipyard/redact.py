"""The one redaction of secrets in text meant for people: error messages, logs, plans.

Every error Shipyard prints passes through ``redact`` on its way out, and the places that build a
message from something that may carry a credential (a URL, a connection string, a tool's output) call
it themselves, so a password never reaches a terminal, a CI log or an exception's text.

What is hidden: the password of a URL's user information (``scheme://user:***@host``), and the whole
user information of an HTTP URL (``https://***@host``: a user name alone carries a token there); the
value of a parameter whose name says it is secret, in a query string, a libpq connection string (quoted
values with spaces too), an environment assignment or a JSON member (``password``, ``passwd``, ``pwd``,
``token``, ``secret``, ``apikey``, ``api_key``, ``_auth``, with any prefix, such as ``PGPASSWORD`` or
``_authToken``); the credentials of an ``Authorization`` header and a ``Bearer`` token; and any known
secret value given by the caller, wherever it appears.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"

# scheme://user:password@ — the password runs to the last '@' before the path or the line's end, so one
# holding a raw '@' or space is hidden whole; a port followed by a path (host:5000/repo@sha256:...) has no
# '@' before the '/'.
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*):(?P<secret>[^/\n]*)@")
# https://token@host: over HTTP a user name alone is how a token is given (GitHub takes it so).
_HTTP_USER = re.compile(r"(?P<head>\bhttps?://)(?P<secret>[^\s:/@]+)@", re.IGNORECASE)
# A name that ends in one of these words is a secret's name: PGPASSWORD, _authToken, client_secret, _auth.
_SECRET_NAME = r"[A-Za-z0-9_.-]*(?:password|passwd|pwd|token|secret|api_?key|_auth)"
# name=value in a query string, a conninfo string or an environment: a quoted value may hold spaces, and an
# unquoted one runs to a space or '&' (a backslash escapes a space in libpq's key=value strings).
_ASSIGNMENT = re.compile(
    rf"(?P<head>\b{_SECRET_NAME}\s*=\s*)(?P<secret>'(?:[^'\\]|\\.)*'?|\"(?:[^\"\\]|\\.)*\"?|(?:[^\s&'\"\\]|\\.)+)",
    re.IGNORECASE,
)
# "password": "value" in JSON.
_MEMBER = re.compile(rf"(?P<head>\"{_SECRET_NAME}\"\s*:\s*)(?P<secret>\"(?:[^\"\\]|\\.)*\"?)", re.IGNORECASE)
_AUTHORIZATION = re.compile(
    r"(?P<head>\b(?:proxy-)?authorization\s*[:=]\s*(?:[A-Za-z-]+\s+)?)(?P<secret>[^\s,;'\"]+)", re.IGNORECASE
)
_BEARER = re.compile(r"(?P<head>\bbearer\s+)(?P<secret>[A-Za-z0-9._~+/=-]{8,})", re.IGNORECASE)


def _masked(match: re.Match[str]) -> str:
    secret = match["secret"]
    quote = secret[:1] if secret[:1] in ("'", '"') else ""
    return f"{match['head']}{quote}{MASK}{quote}"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every password, token and credential it recognises replaced by ``***``.

    ``secrets`` are values known to be secret (a token just read, a password from the environment); each
    is hidden wherever it appears, whatever surrounds it.
    """
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _USERINFO.sub(lambda m: f"{m['head']}:{MASK}@", text)
    text = _HTTP_USER.sub(lambda m: f"{m['head']}{MASK}@", text)
    text = _MEMBER.sub(_masked, text)
    text = _ASSIGNMENT.sub(_masked, text)
    text = _AUTHORIZATION.sub(_masked, text)
    return _BEARER.sub(_masked, text)
