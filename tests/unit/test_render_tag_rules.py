"""The Warehouses' tag rules accept exactly the tags the versioning rules make for their maturity, each tag
in exactly one Warehouse: release betas (X.Y.0) and patch betas (hotfixes) in two."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from shipyard.render.kargo import LANES, lane_regex
from shipyard.spec.model import Platform
from shipyard.versioning.semver import Version

PLATFORM = Platform.model_validate({"org": "acme", "domain": "acme.example.com", "registry": {"url": "h"}})
numbers = st.integers(min_value=0, max_value=10_000)
stamps = st.integers(min_value=10**13, max_value=10**14 - 1)


def _warehouses_matching(tag: str) -> list[str]:
    return [lane.name for lanes in LANES.values() for lane in lanes if re.search(lane_regex(PLATFORM, lane), tag)]


@given(numbers, numbers, numbers, stamps)
def test_alpha_tags_match_only_the_alpha_warehouse(major: int, minor: int, patch: int, stamp: int) -> None:
    tag = Version(major, minor, patch, ("alpha", stamp)).format()
    assert _warehouses_matching(tag) == ["alpha"]


@given(numbers, numbers, numbers, st.integers(min_value=1, max_value=10_000))
def test_beta_tags_match_the_beta_warehouse_of_their_line(major: int, minor: int, patch: int, number: int) -> None:
    tag = Version(major, minor, patch, ("beta", number)).format()
    assert _warehouses_matching(tag) == (["beta"] if patch == 0 else ["hotfix"])


@given(numbers, numbers, numbers)
def test_stable_tags_match_only_the_stable_warehouse(major: int, minor: int, patch: int) -> None:
    assert _warehouses_matching(Version(major, minor, patch).format()) == ["stable"]


@given(
    st.sampled_from(["alpha", "latest-alpha", "beta", "latest-beta", "stable", "latest", "v1.2", "v1", "pr-12-abc1234"])
)
def test_moving_aliases_and_preview_tags_match_no_warehouse(tag: str) -> None:
    assert _warehouses_matching(tag) == []
