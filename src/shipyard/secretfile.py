"""Secrets from files and from the environment: tokens, passwords, webhook secrets, salts.

A secret file is read with a size limit (``/dev/zero`` or a log file given by mistake is refused at
once), stripped of surrounding whitespace (the newline ``echo`` adds), and must then be one line of
printable ASCII: it goes into HTTP headers and command environments, where a CR, an LF or another
control character would split a header or fail deep inside a client with the value in its message.
No message here ever contains the secret or any part of it.
"""

from __future__ import annotations

from pathlib import Path

from shipyard.bounded import KIB, InputError, TooLarge, read_bytes
from shipyard.errors import ShipyardError

MAX_SECRET = 64 * KIB
"""The size limit of a secret file; tokens and passwords are far shorter."""


class SecretError(ShipyardError):
    """A secret that cannot be read or used; the message names where it came from, never its value."""


def check_secret(value: str, what: str) -> str:
    """``value`` stripped, when it is a usable secret: not empty, one line of printable ASCII."""
    stripped = value.strip()
    if not stripped:
        raise SecretError(f"{what} is empty")
    for position, char in enumerate(stripped, 1):
        if not " " <= char <= "~":
            kind = (
                "a line break"
                if char in "\r\n"
                else "a control character"
                if char.isascii()
                else "a non-ASCII character"
            )
            raise SecretError(
                f"{what} holds {kind} at position {position}: a secret must be one line of printable ASCII",
                hint="write the value alone in the file (a trailing newline is fine)",
            )
    return stripped


def read_secret(path: Path, what: str, limit: int = MAX_SECRET) -> str:
    """The secret in the file at ``path`` (``what`` says which secret), checked by ``check_secret``."""
    label = f"{what} file {path}"
    try:
        data = read_bytes(path, limit, label)
    except TooLarge:
        raise SecretError(f"{label} is larger than {limit // KIB} KiB: it cannot be a secret") from None
    except InputError as exc:
        raise SecretError(exc.message) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretError(f"{label} is not UTF-8 text") from None
    return check_secret(text, label)
