"""Shipyard's marks on preview namespaces and the strict timestamp reading they depend on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shipyard.previews.marks import Marked, NamePattern, protected_namespaces, read_marks

MARKED_LABELS = {"shipyard.dev/preview": "true"}


def marks(number: str = "42", created: str = "2024-11-14T15:30:45Z", ttl: str = "7d") -> dict[str, str]:
    """The annotations a preview namespace carries, each overridable."""
    return {
        "shipyard.dev/managed-by": "shipyard",
        "shipyard.dev/pr-number": number,
        "shipyard.dev/created-at": created,
        "shipyard.dev/ttl": ttl,
    }


@pytest.mark.parametrize(
    ("name", "number"),
    [
        ("pr-1", 1),
        ("pr-42", 42),
        ("pr-42\n", None),
        ("pr-٤٢", None),
        ("pr-0", None),
        ("pr-042", None),
        ("pr-", None),
        ("pr-4a", None),
        ("xpr-4", None),
    ],
)
def test_names_are_recognised_exactly(name: str, number: int | None) -> None:
    assert NamePattern().number(name) == number


def test_custom_name_pattern() -> None:
    names = NamePattern("preview-{number}-app")
    assert names.name(7) == "preview-7-app"
    assert names.number("preview-7-app") == 7
    assert names.number("preview--app") is None


def test_a_fully_marked_namespace_is_read() -> None:
    marked = read_marks("pr-42", MARKED_LABELS, marks(), NamePattern(), protected_namespaces([]))
    created = datetime(2024, 11, 14, 15, 30, 45, tzinfo=UTC)
    assert marked == Marked("pr-42", 42, created, timedelta(days=7), created + timedelta(days=7), None)


@pytest.mark.parametrize(
    ("name", "labels", "annotations_", "why"),
    [
        ("pr-42", {}, marks(), "no label shipyard.dev/preview=true"),
        ("pr-42", {"shipyard.dev/preview": "True"}, marks(), "no label shipyard.dev/preview=true"),
        ("pr-42", {"preview": "true"}, marks(), "no label shipyard.dev/preview=true"),
        (
            "pr-42",
            MARKED_LABELS,
            {**marks(), "shipyard.dev/managed-by": "argocd"},
            "no annotation shipyard.dev/managed-by=shipyard",
        ),
        (
            "pr-42",
            MARKED_LABELS,
            {k: v for k, v in marks().items() if "managed" not in k},
            "no annotation shipyard.dev/managed-by=shipyard",
        ),
        ("pr-42", MARKED_LABELS, marks(number="43"), "annotation shipyard.dev/pr-number does not say 42"),
        ("pr-42", MARKED_LABELS, marks(number="042"), "annotation shipyard.dev/pr-number does not say 42"),
        ("team-a", MARKED_LABELS, marks(), "the name is not pr-{number}"),
        ("default", MARKED_LABELS, marks(), "'default' is a protected namespace"),
        ("staging", MARKED_LABELS, marks(), "'staging' is a protected namespace"),
        ("pr-42", None, None, "no label shipyard.dev/preview=true"),
    ],
)
def test_anything_short_of_every_mark_is_not_ours(
    name: str, labels: dict[str, str] | None, annotations_: dict[str, str] | None, why: str
) -> None:
    assert read_marks(name, labels, annotations_, NamePattern(), protected_namespaces(["staging"])) == why


def test_a_protected_name_never_matches_even_when_it_looks_like_a_preview() -> None:
    result = read_marks("pr-42", MARKED_LABELS, marks(), NamePattern(), protected_namespaces(["pr-42"]))
    assert result == "'pr-42' is a protected namespace"


@pytest.mark.parametrize(
    ("created", "ttl", "problem"),
    [
        ("yesterday", "7d", "created-at"),
        ("2024-11-14T15:30:45", "7d", "created-at"),
        ("2024-11-14T15:30:45Z", "7 days", "ttl"),
        ("2024-11-14T15:30:45Z", "0d", "ttl"),
        ("2024-11-14T15:30:45Z", "", "ttl"),
        ("9999-12-31T00:00:00Z", "7d", "9999"),
        ("0001-01-01T00:00:00+01:00", "7d", "0001"),  # year 0 in UTC: refused, not an OverflowError
        ("2024-11-14T15:30:45Z", "99999999999999999d", "ttl"),
    ],
)
def test_malformed_timestamps_are_problems_not_expiries(created: str, ttl: str, problem: str) -> None:
    marked = read_marks("pr-42", MARKED_LABELS, marks(created=created, ttl=ttl), NamePattern(), frozenset())
    assert isinstance(marked, Marked)
    assert marked.expires_at is None
    assert marked.problem is not None and problem in marked.problem
