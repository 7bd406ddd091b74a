"""Harbor's tag patterns (doublestar: globs with {a,b} alternation) select what we mean them to."""

from __future__ import annotations

import fnmatch
import re

from hypothesis import given
from hypothesis import strategies as st

from shipyard.registry.harbor.desired import retention_rules, stable_tag_pattern
from shipyard.spec.loader import parse_spec
from shipyard.versioning.semver import Version


def _expand(pattern: str) -> list[str]:
    """Brace expansion, innermost-free (our patterns never nest braces)."""
    match = re.search(r"\{([^{}]*)\}", pattern)
    if not match:
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    return [e for alt in match.group(1).split(",") for e in _expand(head + alt + tail)]


def _matches(pattern: str, tag: str) -> bool:
    return any(fnmatch.fnmatchcase(tag, p) for p in _expand(pattern))


_number = st.integers(min_value=0, max_value=999)


@given(major=_number, minor=_number, patch=_number, pre=st.sampled_from(["", "-alpha.20250101120000", "-beta.3"]))
def test_only_stable_version_tags_are_immutable(major: int, minor: int, patch: int, pre: str) -> None:
    tag = f"v{major}.{minor}.{patch}{pre}"
    assert Version.parse(tag)  # a real version tag
    assert _matches(stable_tag_pattern("v"), tag) == (pre == "")


def test_aliases_are_never_immutable() -> None:
    for alias in ("latest", "stable", "v1", "v1.2", "beta", "latest-alpha", "pr-12-abc1234"):
        assert not _matches(stable_tag_pattern("v"), alias)


def test_retention_keeps_everything_but_old_pr_and_alpha_tags() -> None:
    platform = parse_spec(
        "apiVersion: shipyard.dev/v1alpha1\nkind: Platform\norg: a\ndomain: a.example.com\nregistry:\n  url: h\n"
    )
    pr_rule, alpha_rule, rest = retention_rules(platform)
    for tag in ("v1.2.0", "latest", "stable", "v1.2.0-beta.1", "latest-alpha", "alpha"):
        assert not _matches(pr_rule["tag_selectors"][0]["pattern"], tag)
        assert not _matches(alpha_rule["tag_selectors"][0]["pattern"], tag)
        assert not _matches(rest["tag_selectors"][0]["pattern"], tag)  # excluded from "excludes": kept always
    assert _matches(pr_rule["tag_selectors"][0]["pattern"], "pr-12-abc1234")
    assert _matches(alpha_rule["tag_selectors"][0]["pattern"], "v1.3.0-alpha.20250101120000")
    assert rest["tag_selectors"][0]["decoration"] == "excludes"
    assert _matches(rest["tag_selectors"][0]["pattern"], "pr-3-0000000")
