"""Who holds which token, for serve: the approvals library's tokens file (``identity.tokens.file``, the one
``shipyard approvals token add`` writes) and the spec's ``people``.

There is one identity system: the token a person was given both signs them in here and names them in the
decisions they make. The file is read again whenever it changes (its size, modification time or inode), so a
token added or revoked takes effect at the next request without a restart. A file that cannot be read, or
is malformed, signs nobody in until it is fixed: serve fails closed and logs the file's problem (never its
content).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from shipyard.promotion.tokens import NotAuthenticated, TokenFileError, TokenStore, authenticate
from shipyard.serve.sessions import digest_fingerprint, token_fingerprint

if TYPE_CHECKING:
    from shipyard.spec.model import Platform

log = logging.getLogger("shipyard.serve")


class People:
    """Answers "whose token is this?" and "does this person still hold that token?"."""

    def __init__(self, platform: Platform | None, path: Path | None) -> None:
        self.platform = platform
        self.path = path
        self._lock = threading.Lock()
        self._seen: tuple[int, int, int] | None = None
        self._store: TokenStore | None = None

    @property
    def enabled(self) -> bool:
        """True when tokens can sign anyone in: a tokens file and people in the spec."""
        return self.path is not None and self.platform is not None and bool(self.platform.people)

    def check(self) -> TokenStore:
        """The tokens file as it is now (TokenFileError when it cannot be used)."""
        assert self.path is not None
        return TokenStore.load(self.path)

    def _current(self) -> TokenStore | None:
        if self.path is None:
            return None
        try:
            info = self.path.stat()
            stamp = (info.st_size, info.st_mtime_ns, info.st_ino)
        except FileNotFoundError:
            stamp = (0, 0, 0)
        except OSError:
            stamp = None
        with self._lock:
            if stamp is not None and stamp == self._seen:
                return self._store
            try:
                self._store = TokenStore.load(self.path)
            except TokenFileError as exc:
                if self._store is not None or self._seen is None:
                    log.error("nobody can sign in with a token until the tokens file is fixed: %s", exc)
                self._store = None
            self._seen = stamp
            return self._store

    def person(self, token: str | None) -> tuple[str, str] | None:
        """The person ``token`` belongs to and the token's fingerprint (for a session); None for a token nobody
        holds, or whose holder is no longer in ``people``."""
        store = self._current()
        if store is None or self.platform is None or not token:
            return None
        try:
            person = authenticate(self.platform, store, token)
        except NotAuthenticated:
            return None
        return person, token_fingerprint(token)

    def holds(self, person: str, fingerprint: str | None) -> bool:
        """True while ``person`` is in ``people`` and still holds the token a session was opened with."""
        store = self._current()
        if store is None or self.platform is None or fingerprint is None or person not in self.platform.people:
            return False
        return any(who == person and digest_fingerprint(digest) == fingerprint for who, digest in store.entries)
