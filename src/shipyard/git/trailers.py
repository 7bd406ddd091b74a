"""Commit messages with Shipyard's trailers: the audit trail ``status`` and ``trace`` read back."""

from __future__ import annotations

from collections.abc import Sequence

from shipyard.errors import ShipyardError

TRAILER_KEYS = (
    "Shipyard-Service",
    "Shipyard-Version",
    "Shipyard-Digest",
    "Shipyard-Source-Commit",
    "Shipyard-PR",
    "Shipyard-Freight",
    "Shipyard-Stage",
    "Shipyard-Approved-By",
    "Shipyard-Rejected-By",
    "Shipyard-Decision",
    "Shipyard-Source-Author",
    "Shipyard-Mirrors",
)

Trailers = Sequence[tuple[str, str]]


class TrailerError(ShipyardError, ValueError):
    """A trailer that would not read back as itself (a line break would add a trailer of its own)."""


def format_message(message: str, trailers: Trailers = ()) -> str:
    """A commit message with Shipyard's trailers, one per line after a blank line."""
    for key, value in trailers:
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value) or not key.replace("-", "").isalnum():
            raise TrailerError(f"invalid trailer {key!r}: {value[:80]!r} (one line of text, no control characters)")
    body = message.rstrip() + "\n"
    if trailers:
        body += "\n" + "".join(f"{key}: {value}\n" for key, value in trailers)
    return body


def parse_trailers(message: str) -> list[tuple[str, str]]:
    """The ``Key: value`` trailers of a commit message's last paragraph."""
    paragraphs = [p for p in message.strip().split("\n\n") if p.strip()]
    if len(paragraphs) < 2:
        return []
    found: list[tuple[str, str]] = []
    for line in paragraphs[-1].splitlines():
        key, sep, value = line.partition(": ")
        if not sep or not key.replace("-", "").isalnum():
            return []
        found.append((key, value.strip()))
    return found
