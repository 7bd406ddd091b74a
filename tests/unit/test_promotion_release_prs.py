"""A beta, stable or hotfix freight has no PR of its own (release branches take none): trace leads back to the
pull requests through the alphas of the same X.Y.Z that carried the service."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shipyard.promotion.board import release_line, release_prs
from shipyard.promotion.ledger import Entry, Ledger


def _freight(version: str, pr: str | None, **digests: str) -> Entry:
    return Entry(
        commit="c" * 40,
        author="ci",
        date="2026-12-05T10:00:00+00:00",
        subject=f"Freight {version}",
        kind="freight",
        freight=version,
        version=version,
        pr=pr,
        images=tuple((service.replace("_", "-"), "sha256:" + digest * 64) for service, digest in digests.items()),
    )


# Freight holds every service; a PR's alpha builds only what it changed and carries the rest over.
LEDGER = Ledger(
    [
        _freight("v1.2.0-alpha.20261205090000", None, user_service="0", payment_service="0"),
        _freight("v1.2.0-alpha.20261205100000", "7", user_service="1", payment_service="1"),
        _freight("v1.2.0-alpha.20261205110000", "9", user_service="1", payment_service="2"),
        _freight("v1.2.0-alpha.20261205120000", "7", user_service="3", payment_service="2"),
        _freight("v1.3.0-alpha.20261205130000", "12", user_service="4", payment_service="2"),
        _freight("v1.2.0-beta.1", None, user_service="5", payment_service="6"),
        _freight("v1.2.0", None, user_service="5", payment_service="6"),
        _freight("v1.2.1-beta.1", None, user_service="5", payment_service="7"),
    ]
)


def test_a_stable_leads_to_the_prs_of_its_alphas_for_that_service() -> None:
    assert release_prs(LEDGER, "user-service", "v1.2.0") == ["7"]
    assert release_prs(LEDGER, "payment-service", "v1.2.0-beta.1") == ["7", "9"]


def test_a_pr_that_did_not_build_the_service_is_not_its_own() -> None:
    # PR 12 built user-service on the next line; PR 9 built payment-service only.
    assert release_prs(LEDGER, "payment-service", "v1.3.0-beta.1") == []
    assert "9" not in release_prs(LEDGER, "user-service", "v1.2.0")


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
