"""Browser sessions: a signed cookie that says who signed in (if anyone), which token they used, and the CSRF
token every form of theirs carries.

The cookie is ``v1.<payload>.<signature>``: the payload is base64url JSON, the signature HMAC-SHA256 of
``v1.<payload>`` with the server's secret, compared in constant time. Nothing in it is secret from its
holder (the CSRF token is theirs; the token fingerprint is a hash of a hash of a random token), and nothing
in it can be changed without the secret. A session ends when it expires, when its person logs out (the
session's id is remembered, on disk, until it would have expired), and when the token it was opened with is
revoked or its person leaves ``people`` (checked on every request, by ``identity.People``).

The secret comes from a file given to serve, or is made once (256 random bits, owner-only) in the state
folder, so sessions survive a restart and never need a secret in git.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.errors import ShipyardError

COOKIE = "shipyard_session"
VERSION = "v1"
MAX_COOKIE = 2048  # a real cookie is about 300 bytes; anything far larger is not ours
MIN_SECRET = 32
SECRET_FILE = "session-secret"
ENDED_FILE = "ended.jsonl"


class SessionSecretError(ShipyardError):
    """The session secret cannot be read or made; the message names the file, never its content."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def token_fingerprint(token: str) -> str:
    """What a session records of the token it was opened with: enough to notice the token's revocation,
    nothing that could be used as the token or found in the tokens file."""
    return digest_fingerprint(hashlib.sha256(token.encode()).digest())  # the tokens file's hash of it


def digest_fingerprint(digest: bytes) -> str:
    """``token_fingerprint`` from the hash the tokens file stores."""
    return hashlib.sha256(b"shipyard-session:" + digest).hexdigest()[:32]


@dataclass(frozen=True)
class Session:
    """One browser's session: anonymous until someone signs in (``person`` and ``token`` set)."""

    sid: str
    csrf: str
    expires: float
    person: str | None = None
    token: str | None = None
    """The fingerprint of the token the person signed in with."""

    @classmethod
    def new(cls, now: float, lifetime: float, person: str | None = None, token: str | None = None) -> Session:
        """A fresh session, with a new id and a new CSRF token (never reused across a sign-in)."""
        return cls(secrets.token_urlsafe(16), secrets.token_urlsafe(32), now + lifetime, person, token)

    def payload(self) -> dict[str, Any]:
        """What the cookie carries."""
        return {"sid": self.sid, "csrf": self.csrf, "exp": int(self.expires), "person": self.person, "tok": self.token}


class SessionCodec:
    """Signs sessions into cookie values and reads them back."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < MIN_SECRET:
            raise SessionSecretError(f"the session secret must be at least {MIN_SECRET} bytes")
        self._key = hashlib.sha256(b"shipyard-session-cookie:" + secret).digest()

    def _sign(self, signed: str) -> str:
        return _b64(hmac.new(self._key, signed.encode(), hashlib.sha256).digest())

    def encode(self, session: Session) -> str:
        """The cookie's value."""
        body = _b64(json.dumps(session.payload(), sort_keys=True, separators=(",", ":")).encode())
        signed = f"{VERSION}.{body}"
        return f"{signed}.{self._sign(signed)}"

    def decode(self, value: str, now: float) -> Session | None:
        """The session a cookie value holds; None when it is not one we signed, or has expired."""
        if not value or len(value) > MAX_COOKIE:
            return None
        version, _, rest = value.partition(".")
        body, _, signature = rest.partition(".")
        if version != VERSION or not body or not signature:
            return None
        if not hmac.compare_digest(self._sign(f"{version}.{body}").encode(), signature.encode()):
            return None
        try:
            data = json.loads(_unb64(body))
        except (ValueError, binascii.Error):
            return None
        if not isinstance(data, dict):
            return None
        sid, csrf, expires = data.get("sid"), data.get("csrf"), data.get("exp")
        person, token = data.get("person"), data.get("tok")
        if not (isinstance(sid, str) and isinstance(csrf, str) and isinstance(expires, int)):
            return None
        if not (person is None or isinstance(person, str)) or not (token is None or isinstance(token, str)):
            return None
        if expires <= now:
            return None
        return Session(sid, csrf, float(expires), person, token)


def load_secret(folder: Path) -> bytes:
    """The session secret kept in ``folder``, made (owner-only, 256 random bits) the first time."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / SECRET_FILE
    with contextlib.suppress(FileExistsError):
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(secrets.token_bytes(32).hex().encode())
            handle.flush()
            os.fsync(handle.fileno())
    try:
        secret = path.read_bytes().strip()
    except OSError as exc:
        raise SessionSecretError(f"{path}: cannot read the session secret ({exc.strerror})") from None
    if len(secret) < MIN_SECRET:
        raise SessionSecretError(f"{path}: the session secret is shorter than {MIN_SECRET} bytes; remove the file")
    return secret


class EndedSessions:
    """The ids of sessions ended by logging out, each kept until the session would have expired anyway.

    A JSON-lines file in the sessions folder, so a copied cookie stays dead across a restart. Thread-safe."""

    def __init__(self, folder: Path, now: float) -> None:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = folder / ENDED_FILE
        self._lock = threading.Lock()
        self._ended: dict[str, float] = {}
        with contextlib.suppress(FileNotFoundError):
            for line in self.path.read_text(encoding="utf-8").splitlines():
                with contextlib.suppress(ValueError, TypeError, KeyError):
                    entry = json.loads(line)
                    if float(entry["exp"]) > now:
                        self._ended[str(entry["sid"])] = float(entry["exp"])
        self._rewrite()

    def _rewrite(self) -> None:
        lines = "".join(json.dumps({"sid": s, "exp": e}) + "\n" for s, e in sorted(self._ended.items()))
        scratch = self.path.with_suffix(".tmp")
        scratch.write_text(lines, encoding="utf-8")
        scratch.replace(self.path)

    def end(self, session: Session) -> None:
        """Remember that ``session`` ended."""
        with self._lock:
            self._ended[session.sid] = session.expires
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({"sid": session.sid, "exp": session.expires}) + "\n")

    def __contains__(self, sid: object) -> bool:
        with self._lock:
            return sid in self._ended


def cookie(value: str, *, secure: bool, max_age: int) -> str:
    """The ``Set-Cookie`` value: HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it),
    Secure over TLS."""
    parts = [f"{COOKIE}={value}", "Path=/", f"Max-Age={max_age}", "HttpOnly", "SameSite=Strict"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)
