"""Version ordering agrees with SemVer 2.0.0 precedence (checked against the independent ``semver``
package), parse(format(v)) == v, and the alias and dist-tag rules only ever move forward."""

from __future__ import annotations

import re

import semver
from hypothesis import given
from hypothesis import strategies as st

from shipyard.versioning.aliases import image_tags, npm_dist_tag, npm_version
from shipyard.versioning.semver import Version

numbers = st.integers(min_value=0, max_value=10**6)
alnum = st.from_regex(r"\A[0-9A-Za-z-]*[A-Za-z-][0-9A-Za-z-]*\Z", fullmatch=True).filter(lambda s: len(s) < 12)
identifier = st.one_of(numbers, alnum, st.sampled_from(["alpha", "beta", "rc"]))
build_part = st.from_regex(r"\A[0-9A-Za-z-]{1,8}\Z", fullmatch=True)


@st.composite
def versions(draw: st.DrawFn, build: bool = True) -> Version:
    core = (draw(st.integers(0, 4)), draw(st.integers(0, 4)), draw(st.integers(0, 4)))
    pre = tuple(draw(st.lists(identifier, max_size=3)))
    meta = tuple(draw(st.lists(build_part, max_size=2))) if build else ()
    return Version(*core, pre, meta)


def shipyard_version(core: tuple[int, int, int], kind: str, n: int) -> Version:
    return Version(*core, (kind, n) if kind != "stable" else ())


shipyard_versions = st.builds(
    shipyard_version,
    st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)),
    st.sampled_from(["alpha", "beta", "stable"]),
    st.integers(1, 30),
)


@given(versions())
def test_parse_format_roundtrip(version: Version) -> None:
    for prefix in ("v", ""):
        text = version.format(prefix)
        again = Version.parse(text, prefix)
        assert again == version and again.build == version.build and again.format(prefix) == text


@given(versions(), versions())
def test_ordering_is_semver_precedence(a: Version, b: Version) -> None:
    expected = semver.Version.parse(a.format("")).compare(b.format(""))
    assert (a > b) - (a < b) == expected
    assert (a == b) == (expected == 0)  # build metadata never counts


@given(versions(build=False), versions(build=False), versions(build=False))
def test_ordering_is_transitive(a: Version, b: Version, c: Version) -> None:
    low, mid, high = sorted([a, b, c])
    assert low <= mid <= high and low <= high


def test_git_sort_trap() -> None:
    # git's -v:refname ranks the prerelease above the release; SemVer does not.
    assert Version.parse("v1.2.3-beta.1") < Version.parse("v1.2.3")
    assert Version.parse("v1.2.3-beta.2") < Version.parse("v1.2.3-beta.10")
    assert Version.parse("v1.2.3-alpha.20241114153045") < Version.parse("v1.2.3-beta.1")


@given(shipyard_versions, st.lists(shipyard_versions, max_size=8))
def test_aliases_move_forward_and_only_forward(version: Version, published: list[Version]) -> None:
    tags = image_tags(version, published)
    newest_of_its_maturity = all(version >= v for v in published if v.maturity == version.maturity)
    stable = version.maturity == "stable"
    stables = [v for v in published if v.maturity == "stable"]
    assert tags[0] == version.format()
    assert len(set(tags)) == len(tags)
    # An alias moves to a version exactly when it is the newest of what the alias names.
    for alias in ("alpha", "latest-alpha", "beta", "latest-beta"):
        assert (alias in tags) == (version.maturity == alias.removeprefix("latest-") and newest_of_its_maturity)
    assert ("stable" in tags) == ("latest" in tags) == (stable and newest_of_its_maturity)
    major, minor = f"v{version.major}", f"v{version.major}.{version.minor}"
    assert (major in tags) == (stable and all(version >= v for v in stables if v.major == version.major))
    assert (minor in tags) == (stable and all(version >= v for v in stables if v.core[:2] == version.core[:2]))


@given(shipyard_versions, st.lists(shipyard_versions, max_size=8))
def test_npm_dist_tags(version: Version, published: list[Version]) -> None:
    tag = npm_dist_tag(version, published)
    assert npm_version(version) == version.format("")
    # npm refuses a dist-tag that parses as a version range, such as "1.2" or "v1".
    assert not re.fullmatch(r"v?\d+(\.\d+){0,2}.*", tag)
    newest_of_its_maturity = all(version >= v for v in published if v.maturity == version.maturity)
    line = f"{version.major}.{version.minor}"
    if version.maturity == "stable":
        assert tag == ("latest" if newest_of_its_maturity else f"latest-{line}")
    else:
        assert tag == (str(version.maturity) if newest_of_its_maturity else f"{version.maturity}-{line}")
