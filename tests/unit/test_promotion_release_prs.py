"""A beta, stable or hotfix freight has no PR of its own (release branches take none): trace leads back to the
pull requests through the alphas of the same X.Y.Z that carried the service."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shipyard.promotion.board import release_line, release_prs
from shipyard.promotion.ledger import Entry, Ledger


def _freight(version: str, pr: str | None, *services: str) -> Entry:
    return Entry(
        commit="c" * 40,
        author="ci",
        date="2026-12-05T10:00:00+00:00",
        subject=f"Freight {version}",
        kind="freight",
        freight=version,
        version=version,
        pr=pr,
        images=tuple((s, "sha256:" + "a" * 64) for s in services),
    )


LEDGER = Ledger(
    [
        _freight("v1.2.0-alpha.20261205100000", "7", "user-service", "payment-service"),
        _freight("v1.2.0-alpha.20261205110000", "9", "payment-service"),
        _freight("v1.2.0-alpha.20261205120000", "7", "user-service"),
        _freight("v1.3.0-alpha.20261205130000", "12", "user-service"),
        _freight("v1.2.0-beta.1", None, "user-service", "payment-service"),
        _freight("v1.2.0", None, "user-service", "payment-service"),
        _freight("v1.2.1-beta.1", None, "payment-service"),
    ]
)


def test_a_stable_leads_to_the_prs_of_its_alphas_for_that_service() -> None:
    assert release_prs(LEDGER, "user-service", "v1.2.0") == ["7"]
    assert release_prs(LEDGER, "payment-service", "v1.2.0-beta.1") == ["7", "9"]


def test_other_lines_and_a_hotfix_without_alphas_lead_nowhere() -> None:
    assert release_prs(LEDGER, "user-service", "v1.3.0-beta.1") == ["12"]
    assert release_prs(LEDGER, "payment-service", "v1.2.1") == []
    assert release_prs(LEDGER, "user-service", "not-a-version") == []


def test_a_prefix_with_dashes_keeps_its_line() -> None:
    assert release_line("release-1.4.0-beta.2") == "release-1.4.0"
    assert release_line("v1.4.0+build.5") == "v1.4.0"


@given(
    st.from_regex(r"[A-Za-z._-]{0,8}", fullmatch=True),
    st.tuples(*[st.integers(0, 10**6)] * 3),
    st.from_regex(r"(-(alpha|beta)\.[0-9]{1,14})?", fullmatch=True),
)
def test_the_line_is_the_prefix_and_core_of_any_version(prefix: str, core: tuple[int, int, int], pre: str) -> None:
    base = f"{prefix}{core[0]}.{core[1]}.{core[2]}"
    assert release_line(base + pre) == base
