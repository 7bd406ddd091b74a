"""The Warehouses' tag rules accept exactly the tags the versioning rules make for their maturity."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from shipyard.render.kargo import tag_regex
from shipyard.spec.model import Maturity, Platform
from shipyard.versioning.semver import Version

PLATFORM = Platform.model_validate({"org": "acme", "domain": "acme.example.com", "registry": {"url": "h"}})
numbers = st.integers(min_value=0, max_value=10_000)
stamps = st.integers(min_value=10**13, max_value=10**14 - 1)


def _maturities_matching(tag: str) -> list[Maturity]:
    return [m for m in Maturity if re.search(tag_regex(PLATFORM, m), tag)]


@given(numbers, numbers, numbers, stamps)
def test_alpha_tags_match_only_the_alpha_warehouse(major: int, minor: int, patch: int, stamp: int) -> None:
    tag = Version(major, minor, patch, ("alpha", stamp)).format()
    assert _maturities_matching(tag) == [Maturity.alpha]


@given(numbers, numbers, numbers, st.integers(min_value=1, max_value=10_000))
def test_beta_tags_match_only_the_beta_warehouse(major: int, minor: int, patch: int, number: int) -> None:
    tag = Version(major, minor, patch, ("beta", number)).format()
    assert _maturities_matching(tag) == [Maturity.beta]


@given(numbers, numbers, numbers)
def test_stable_tags_match_only_the_stable_warehouse(major: int, minor: int, patch: int) -> None:
    assert _maturities_matching(Version(major, minor, patch).format()) == [Maturity.stable]


@given(
    st.sampled_from(["alpha", "latest-alpha", "beta", "latest-beta", "stable", "latest", "v1.2", "v1", "pr-12-abc1234"])
)
def test_moving_aliases_and_preview_tags_match_no_warehouse(tag: str) -> None:
    assert _maturities_matching(tag) == []
