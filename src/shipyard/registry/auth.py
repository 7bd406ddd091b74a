"""Registry authentication: parsing ``WWW-Authenticate`` challenges and finding credentials.

Challenges follow RFC 7235: ``Bearer realm="https://auth.example.com/token",service="reg",
scope="repository:a/b:pull,push"``. A quoted value may hold commas and escaped quotes, so the
header is tokenized, never split on commas.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

_TOKEN_CHARS = set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


@dataclass(frozen=True)
class Challenge:
    """One authentication challenge: its scheme (lower case) and parameters (keys lower case)."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)


def parse_challenges(header: str) -> list[Challenge]:
    """Every challenge in a ``WWW-Authenticate`` value; malformed tails are ignored, never guessed."""
    parser = _Parser(header)
    return parser.challenges()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def _skip(self, chars: str = " \t") -> None:
        while self.pos < len(self.text) and self.text[self.pos] in chars:
            self.pos += 1

    def _token(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] in _TOKEN_CHARS:
            self.pos += 1
        return self.text[start : self.pos]

    def _quoted(self) -> str | None:
        # self.text[self.pos] is the opening quote
        self.pos += 1
        out: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                out.append(self.text[self.pos + 1])
                self.pos += 2
            elif char == '"':
                self.pos += 1
                return "".join(out)
            else:
                out.append(char)
                self.pos += 1
        return None  # unterminated

    def challenges(self) -> list[Challenge]:
        found: list[Challenge] = []
        while True:
            self._skip(" \t,")
            scheme = self._token()
            if not scheme:
                return found
            params: dict[str, str] = {}
            found.append(Challenge(scheme.lower(), params))
            while self.pos < len(self.text):
                mark = self.pos
                self._skip(" \t,")
                key = self._token()
                self._skip()
                if not key or self.pos >= len(self.text) or self.text[self.pos] != "=":
                    # A bare token starts the next challenge (registries never send token68 forms).
                    self.pos = mark
                    break
                self.pos += 1
                self._skip()
                if self.pos < len(self.text) and self.text[self.pos] == '"':
                    value = self._quoted()
                    if value is None:
                        return found
                else:
                    value = self._token()
                params[key.lower()] = value


def challenge_for(challenges: list[Challenge]) -> Challenge | None:
    """The challenge to answer: Bearer when offered (token auth), else Basic."""
    for scheme in ("bearer", "basic"):
        for challenge in challenges:
            if challenge.scheme == scheme:
                return challenge
    return None


@dataclass(frozen=True)
class Credentials:
    """A user name and password (or token) for a registry."""

    username: str
    password: str

    def basic_header(self) -> str:
        """The value of an ``Authorization: Basic`` header."""
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


def find_credentials(host: str, environ: Mapping[str, str] | None = None) -> Credentials | None:
    """Credentials for ``host`` from the auth file that docker, podman, buildah and skopeo share
    (``REGISTRY_AUTH_FILE`` or ``~/.docker/config.json``), read within a size limit.

    The one variable a library reads itself: it is the containers tools' convention, and the rendered
    Tekton build step sets it for buildah and Shipyard alike. Explicit credentials (the CLI's
    ``--registry-username``/``--registry-password``) are passed to the client instead."""
    from shipyard.bounded import MIB, InputError, read_json
    from shipyard.secretfile import check_secret

    env = os.environ if environ is None else environ
    candidates = [env.get("REGISTRY_AUTH_FILE"), str(Path.home() / ".docker" / "config.json")]
    for candidate in candidates:
        if not candidate:
            continue
        path = Path(candidate)
        if not path.exists():
            continue
        try:
            data = read_json(path, MIB)
        except InputError:
            continue
        entry = data.get("auths", {}).get(host) if isinstance(data, dict) else None
        if isinstance(entry, dict) and isinstance(entry.get("auth"), str):
            try:
                decoded = base64.b64decode(entry["auth"]).decode()
            except (ValueError, UnicodeDecodeError):
                continue
            name, sep, secret = decoded.partition(":")
            if sep:
                return Credentials(name, check_secret(secret, f"the password for {host} in {path}"))
    return None
