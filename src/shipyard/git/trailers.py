"""Commit messages with Shipyard's trailers: the audit trail ``status`` and ``trace`` read back."""

from __future__ import annotations

from collections.abc import Sequence

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


def format_message(message: str, trailers: Trailers = ()) -> str:
    """A commit message with Shipyard's trailers, one per line after a blank line."""
    for key, value in trailers:
        if "\n" in value or not key.replace("-", "").isalnum():
            raise ValueError(f"invalid trailer {key!r}: {value!r}")
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
