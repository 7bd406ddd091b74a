"""Semantic versions (SemVer 2.0.0) with Shipyard's maturity levels.

Ordering is SemVer precedence, not git's ``-v:refname`` sort (which ranks ``v1.2.3-beta.1`` above
``v1.2.3``): a prerelease is lower than its release, numeric identifiers compare as numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import total_ordering

_CORE = r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
_IDENT = r"(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)"
# ASCII only: \d would take any script's digits, and int() reads them.
_PATTERN = re.compile(rf"{_CORE}(?:-({_IDENT}(?:\.{_IDENT})*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?", re.ASCII)
MAX_TAG = 128
"""The longest version tag, prefix included: an OCI tag holds at most 128 characters, and every version
becomes an image tag."""


class VersionError(ValueError):
    """Text that is not a semantic version."""


@total_ordering
@dataclass(frozen=True)
class Version:
    """A semantic version. ``prerelease`` holds the dot-separated identifiers (ints where numeric)."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[int | str, ...] = ()
    build: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def parse(cls, text: str, prefix: str = "v") -> Version:
        """Parse ``v1.2.3-beta.1`` (the prefix is optional) or raise VersionError."""
        raw = text[len(prefix) :] if prefix and text.startswith(prefix) else text
        if len(prefix) + len(raw) > MAX_TAG:
            raise VersionError(
                f"'{text[:40]}...' is longer than {MAX_TAG} characters with its prefix: it cannot be an image tag"
            )
        match = _PATTERN.fullmatch(raw)
        if not match:
            raise VersionError(f"'{text}' is not a semantic version such as {prefix}1.2.3 or {prefix}1.2.3-beta.1")
        major, minor, patch, pre, build = match.groups()
        identifiers = tuple(int(p) if p.isdigit() else p for p in pre.split(".")) if pre else ()
        return cls(int(major), int(minor), int(patch), identifiers, tuple(build.split(".")) if build else ())

    @classmethod
    def try_parse(cls, text: str, prefix: str = "v") -> Version | None:
        """Parse, or None when ``text`` is not a version (e.g. an alias tag such as ``latest``)."""
        try:
            return cls.parse(text, prefix)
        except VersionError:
            return None

    def format(self, prefix: str = "v") -> str:
        """The version as a tag, e.g. ``v1.2.3-alpha.20241114153045``."""
        text = f"{prefix}{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(str(p) for p in self.prerelease)
        if self.build:
            text += "+" + ".".join(self.build)
        return text

    def __str__(self) -> str:
        return self.format()

    @property
    def core(self) -> tuple[int, int, int]:
        """(major, minor, patch)."""
        return (self.major, self.minor, self.patch)

    @property
    def base(self) -> str:
        """``X.Y.Z`` without prefix or prerelease."""
        return f"{self.major}.{self.minor}.{self.patch}"

    @property
    def maturity(self) -> str | None:
        """alpha, beta or stable; None for other prereleases."""
        if not self.prerelease:
            return "stable"
        first = self.prerelease[0]
        return first if first in ("alpha", "beta") else None

    @property
    def number(self) -> int | None:
        """The build number of an alpha (timestamp) or beta (counter): the second identifier."""
        if len(self.prerelease) >= 2 and isinstance(self.prerelease[1], int):
            return self.prerelease[1]
        return None

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return _compare(self, other) < 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.core == other.core and self.prerelease == other.prerelease

    def __hash__(self) -> int:
        return hash((self.core, self.prerelease))


def _compare(a: Version, b: Version) -> int:
    # SemVer precedence: a release above its prereleases, numeric identifiers below alphanumeric ones.
    if a.core != b.core:
        return -1 if a.core < b.core else 1
    if a.prerelease == b.prerelease:
        return 0
    if not a.prerelease:
        return 1
    if not b.prerelease:
        return -1
    for x, y in zip(a.prerelease, b.prerelease, strict=False):
        if x == y:
            continue
        if isinstance(x, int) and isinstance(y, int):
            return -1 if x < y else 1
        if isinstance(x, int):
            return -1
        if isinstance(y, int):
            return 1
        return -1 if x < y else 1
    return -1 if len(a.prerelease) < len(b.prerelease) else 1
