"""People's API tokens for ``shipyard serve`` on one machine: a file of their hashes, never the tokens.

A token is ``shy_`` and 43 URL-safe characters (256 random bits), shown once when it is made. The file
(``identity.tokens.file``, default ``.shipyard/tokens``, outside git; on a cluster a secret store puts it
there) holds ``person: sha256:<hex>`` lines. The tokens are random, so a plain SHA-256 keeps them safe:
nobody can guess a token from its hash, and checking one costs one hash. A presented token is compared
with every stored hash in constant time, the file is read with a size bound, and neither a token nor a
line of the file ever appears in a message.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from shipyard.errors import ShipyardError
from shipyard.git import Git
from shipyard.spec.model import Platform

PREFIX = "shy_"
TOKEN = re.compile(r"shy_[A-Za-z0-9_-]{43}")
_LINE = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]{0,63}): sha256:([0-9a-f]{64})")
MAX_FILE_BYTES = 1 << 20
"""A tokens file larger than this (1 MiB, some 12,000 tokens) is refused unread."""
MAX_HEADER = 512
SECRET_KEY = "tokens"
"""The key of the file in the Secret ``identity.tokens.secret`` names, where a secret store provides it."""
HEADER_COMMENT = "# Shipyard serve: hashes of people's API tokens (`shipyard approvals token add`). Keep out of git.\n"


class TokenFileError(ShipyardError):
    """The tokens file cannot be used; the message names the file and line, never its content."""


class NotAuthenticated(ShipyardError):
    """No person is known for the credentials presented (exit 1: the answer is no)."""

    exit_code = 1


def new_token() -> str:
    """A fresh token: ``shy_`` and 256 random bits."""
    return PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the tokens file stores for ``token``: ``sha256:<hex>``."""
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def bearer(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value; None for anything else."""
    if not header or len(header) > MAX_HEADER:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and TOKEN.fullmatch(value) else None


def tokens_path(platform: Platform, root: Path) -> Path:
    """Where the tokens file is: ``identity.tokens.file``, relative to the folder of shipyard.yaml."""
    path = Path(platform.identity.tokens.file)
    return path if path.is_absolute() else root / path


@dataclass(frozen=True)
class TokenStore:
    """The hashes of a tokens file: who holds which token."""

    path: Path
    entries: tuple[tuple[str, bytes], ...]
    """(person, SHA-256 digest) in the file's order; a person may hold several tokens."""

    @classmethod
    def load(cls, path: Path) -> TokenStore:
        """Read ``path``; a missing file holds no tokens. TokenFileError for a file too large, not text,
        or with a line that is not ``person: sha256:<64 hex>`` (comments and blank lines aside)."""
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            return cls(path, ())
        except OSError as exc:
            raise TokenFileError(f"{path}: cannot be read: {exc.strerror}") from None
        if len(data) > MAX_FILE_BYTES:
            raise TokenFileError(f"{path}: larger than {MAX_FILE_BYTES} bytes; not read")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise TokenFileError(f"{path}: not UTF-8 text") from None
        entries = []
        for number, line in enumerate(text.splitlines(), start=1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            match = _LINE.fullmatch(stripped)
            if match is None:
                # The line may be a token pasted by mistake: say where, never what.
                raise TokenFileError(f"{path}:{number}: not a `person: sha256:<64 hex digits>` line")
            entries.append((match.group(1), bytes.fromhex(match.group(2))))
        return cls(path, tuple(entries))

    def verify(self, token: str) -> str | None:
        """The person holding ``token``, or None. Every stored hash is compared, in constant time each,
        so the time taken does not say which entry (if any) matched."""
        if not TOKEN.fullmatch(token):
            return None
        presented = hashlib.sha256(token.encode()).digest()
        found: str | None = None
        for person, digest in self.entries:
            if hmac.compare_digest(presented, digest) and found is None:
                found = person
        return found

    def holders(self) -> dict[str, int]:
        """How many tokens each person holds."""
        counts: dict[str, int] = {}
        for person, _ in self.entries:
            counts[person] = counts.get(person, 0) + 1
        return counts

    def text(self) -> str:
        """The file's content."""
        return HEADER_COMMENT + "".join(f"{person}: sha256:{digest.hex()}\n" for person, digest in self.entries)


def authenticate(platform: Platform, store: TokenStore, token: str | None) -> str:
    """The person a bearer token belongs to; NotAuthenticated when the token is unknown or its holder is no
    longer listed in the spec's ``people``."""
    person = store.verify(token) if token else None
    if person is None or person not in platform.people:
        raise NotAuthenticated("not authenticated: unknown or revoked token")
    return person


@dataclass(frozen=True)
class Issued:
    """A token just made: shown once, its hash stored in ``path``."""

    person: str
    token: str
    path: Path

    def to_json(self) -> dict[str, object]:
        """As JSON: the one place the token is ever shown."""
        return {"person": self.person, "token": self.token, "file": str(self.path)}


@dataclass(frozen=True)
class Revoked:
    """Tokens removed from ``path``."""

    person: str
    count: int
    path: Path

    def to_json(self) -> dict[str, object]:
        """As JSON."""
        return {"person": self.person, "revoked": self.count, "file": str(self.path)}


def issue_token(platform: Platform, root: Path, person: str) -> Issued:
    """Make a token for ``person`` (listed in ``people``) and add its hash to the tokens file.

    Refuses a tokens file that git tracks or does not ignore in the repository around it, so the hashes
    never reach a commit. The file is written whole (a new file renamed over the old), readable by its
    owner only, under a lock so that concurrent runs add both tokens."""
    if person not in platform.people:
        valid = ", ".join(sorted(platform.people)) or "none: list people in shipyard.yaml"
        raise ShipyardError(f"no person '{person}' in shipyard.yaml; valid: {valid}")
    path = tokens_path(platform, root)
    _refuse_tracked(path)
    token = new_token()
    digest = bytes.fromhex(token_hash(token).removeprefix("sha256:"))
    with _locked(path):
        store = TokenStore.load(path)
        _write(path, TokenStore(path, (*store.entries, (person, digest))).text())
    return Issued(person, token, path)


def revoke_tokens(platform: Platform, root: Path, person: str) -> Revoked:
    """Remove every token of ``person`` from the tokens file (they need not be listed any more)."""
    path = tokens_path(platform, root)
    with _locked(path):
        store = TokenStore.load(path)
        kept = tuple(entry for entry in store.entries if entry[0] != person)
        if len(kept) != len(store.entries):
            _write(path, TokenStore(path, kept).text())
    return Revoked(person, len(store.entries) - len(kept), path)


def _refuse_tracked(path: Path) -> None:
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    git = Git(folder)
    if git.execute("rev-parse", "--is-inside-work-tree").stdout.strip() != "true":
        return
    name = path.name
    if git.execute("ls-files", "--error-unmatch", "--", name).returncode == 0:
        raise ShipyardError(f"{path} is tracked by git: token hashes must stay out of git", hint="git rm --cached it")
    if git.execute("check-ignore", "--quiet", "--", name).returncode != 0:
        raise ShipyardError(
            f"{path} is not ignored by git: token hashes must stay out of git", hint="add it to .gitignore"
        )


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    # The folder is the lock: no lock file to leave behind, or to keep out of git.
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _write(path: Path, text: str) -> None:
    descriptor, name = tempfile.mkstemp(prefix=".tokens-", dir=path.parent)  # created 0600: owner only
    scratch = Path(name)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        scratch.replace(path)
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise
