"""The ref snapshot's shortcuts (integer keys for the highest alpha, the alias frontier instead of every
version) give the same answers as comparing every parsed version."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shipyard.versioning.aliases import image_tags, npm_dist_tag
from shipyard.versioning.refs import RefSnapshot
from shipyard.versioning.semver import Version

small = st.integers(0, 3)
tag_texts = st.one_of(
    st.builds(lambda a, b, c, n: f"v{a}.{b}.{c}-alpha.{n}", small, small, small, st.integers(1, 99)),
    st.builds(lambda a, b, c, n: f"v{a}.{b}.{c}-beta.{n}", small, small, small, st.integers(1, 9)),
    st.builds(lambda a, b, c: f"v{a}.{b}.{c}", small, small, small),
    # Shapes Shipyard does not write but must still order correctly, and tags that are not versions.
    st.builds(lambda a, n, x: f"v{a}.0.0-alpha.{n}.{x}", small, st.integers(1, 99), st.sampled_from(["x", "1"])),
    st.sampled_from(["v1.2.3-rc.1", "v1.2.3+build.5", "v01.2.3", "latest", "vnext", "v1.2"]),
)


def snapshot_of(texts: list[str]) -> RefSnapshot:
    snapshot = RefSnapshot(prefix="v")
    for index, text in enumerate(texts):
        snapshot.add(f"refs/tags/{text}", f"{index:040x}")
    return snapshot


def every_version(texts: list[str]) -> list[Version]:
    parsed = (Version.try_parse(t) for t in texts)
    return [v for v in parsed if v is not None and v.maturity is not None and not v.build]


@given(st.lists(tag_texts, max_size=25))
def test_highest_matches_a_full_comparison(texts: list[str]) -> None:
    snapshot = snapshot_of(texts)
    versions = every_version(texts)
    for maturity in ("alpha", "beta", "stable"):
        expected = max((v for v in versions if v.maturity == maturity), default=None)
        assert snapshot.highest(maturity) == expected


@given(st.lists(tag_texts, max_size=25), tag_texts)
def test_frontier_gives_the_aliases_of_every_version(texts: list[str], new: str) -> None:
    version = Version.try_parse(new)
    if version is None or version.maturity is None or version.build:
        return
    snapshot = snapshot_of(texts)
    everything = [*every_version(texts), version]
    frontier = [*snapshot.frontier(), version]
    assert image_tags(version, frontier) == image_tags(version, everything)
    assert npm_dist_tag(version, frontier) == npm_dist_tag(version, everything)


def test_branches_are_classified() -> None:
    snapshot = RefSnapshot(prefix="v")
    for ref in (
        "refs/remotes/origin/release/v1.3.0",
        "refs/heads/release/v1.2.0",
        "refs/heads/release/v1.2",
        "refs/remotes/origin/hotfix/cve",
        "refs/heads/main",
        "refs/remotes/origin/develop",
        "refs/heads/feature/x-y",
    ):
        snapshot.add(ref, "a" * 40)
    assert sorted(snapshot.release_branches.values()) == [(1, 2, 0), (1, 3, 0)]
    assert snapshot.highest_cut() == (1, 3, 0)
    assert list(snapshot.hotfix_heads) == ["refs/remotes/origin/hotfix/cve"]
    assert snapshot.mainline_refs() == ["refs/heads/main", "refs/remotes/origin/develop"]
