"""Image references: ``host[:port]/repository[:tag][@sha256:digest]``, parsed without guessing.

Shipyard always names the registry host (it never defaults to a public hub), so the first path
component is the host whenever the reference has more than one component.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shipyard.errors import ShipyardError

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
DIGEST = re.compile(r"sha256:[a-f0-9]{64}")


@dataclass(frozen=True)
class Reference:
    """A parsed image reference. ``tag`` and ``digest`` may both be None (a bare repository)."""

    host: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """``host/repository`` without tag or digest."""
        return f"{self.host}/{self.repository}"

    @property
    def ref(self) -> str | None:
        """What the registry's manifest endpoint takes: the digest when known, else the tag."""
        return self.digest or self.tag

    def with_tag(self, tag: str) -> Reference:
        """The same repository under another tag."""
        return Reference(self.host, self.repository, tag=tag)

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_reference(text: str) -> Reference:
    """Parse ``text`` or raise a ShipyardError that shows the expected form."""
    example = "e.g. registry.example.com/services/user-service:v1.2.0 or ...@sha256:<64 hex>"
    rest, _, digest = text.partition("@")
    if digest and not DIGEST.fullmatch(digest):
        raise ShipyardError(f"'{text}': the digest must be sha256: followed by 64 lower-case hex digits; {example}")
    host, slash, path = rest.partition("/")
    if not slash or not host or not path:
        raise ShipyardError(f"'{text}' must name the registry host and a repository; {example}")
    tag: str | None = None
    last_slash = path.rfind("/")
    colon = path.rfind(":")
    if colon > last_slash:
        path, tag = path[:colon], path[colon + 1 :]
        if not TAG.fullmatch(tag):
            raise ShipyardError(f"'{text}': '{tag}' is not a valid tag (letters, digits, '_', '.', '-'; max 128)")
    if not _REPOSITORY.fullmatch(path):
        raise ShipyardError(f"'{text}': '{path}' is not a repository name (lower case, digits, '/', '.', '_', '-')")
    return Reference(host, path, tag or None, digest or None)


def check_tag(tag: str) -> str:
    """``tag`` when it is a valid tag name, else a ShipyardError."""
    if not TAG.fullmatch(tag):
        raise ShipyardError(f"'{tag}' is not a valid tag (letters, digits, '_', '.', '-'; at most 128; no leading '.')")
    return tag
