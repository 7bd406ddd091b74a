"""Version tags as freight and promotions carry them: ``<tag_prefix><SemVer>``, whatever the prefix.

``versioning.tag_prefix`` may be any run of letters, ``.``, ``_`` and ``-`` (``v``, ``release-``, or
nothing), and a SemVer starts with a digit, so a tag splits into its prefix and its version without
knowing the prefix. Records written under one prefix stay readable after the spec changes it; where the
platform's prefix matters (recording new freight, naming the stable tag) the caller passes it.
"""

from __future__ import annotations

import re

from shipyard.versioning.semver import Version

_PREFIX = re.compile(r"^[A-Za-z._-]*")


def split_tag(text: str) -> tuple[str, Version] | None:
    """(prefix, version) of a version tag such as ``release-1.2.0-beta.1``; None when it is not one."""
    prefix = _PREFIX.match(text)
    lead = prefix.group(0) if prefix else ""
    parsed = Version.try_parse(text[len(lead) :], prefix="")
    return None if parsed is None else (lead, parsed)


def try_parse_tag(text: str) -> Version | None:
    """The version of a version tag, or None."""
    found = split_tag(text)
    return None if found is None else found[1]


def parse_tag(text: str) -> Version:
    """The version of a version tag; a ValueError naming the text otherwise."""
    found = try_parse_tag(text)
    if found is None:
        raise ValueError(f"'{text}' is not a version tag such as v1.2.0 or release-1.2.0-beta.1")
    return found
