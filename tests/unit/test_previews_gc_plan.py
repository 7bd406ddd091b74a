"""The clean-up's plan and report: what a dry run prints is what a run applies."""

from __future__ import annotations

from datetime import UTC, datetime

from shipyard.previews.gc import Candidate, plan_gc, plan_orphans
from shipyard.previews.marks import NamePattern, protected_namespaces
from shipyard.previews.prstate import PrStates

NOW = datetime(2024, 11, 22, tzinfo=UTC)


def preview(number: int, created: str = "2024-11-01T00:00:00Z", ttl: str = "7d") -> Candidate:
    return Candidate(
        f"pr-{number}",
        {"shipyard.dev/preview": "true"},
        {
            "shipyard.dev/managed-by": "shipyard",
            "shipyard.dev/pr-number": str(number),
            "shipyard.dev/created-at": created,
            "shipyard.dev/ttl": ttl,
        },
    )


def test_plan_lists_deletions_and_explains_the_rest() -> None:
    candidates = [
        preview(3, "2024-11-03T00:00:00Z"),
        preview(1),
        preview(2, "2024-11-02T00:00:00Z"),
        preview(4, "2024-11-21T00:00:00Z"),
        preview(5, ttl="soon"),
        Candidate("pr-6", None, None, problem="no readable namespace.yaml"),
    ]
    states = PrStates("states.json", {4: "closed"}, ("PR 9: unknown state 'weird'",))
    report = plan_gc(
        candidates, now=NOW, max_deletions=2, protected=protected_namespaces([]), names=NamePattern(), pr_states=states
    )
    text = report.plan().to_text()
    assert text.splitlines()[:3] == [
        "shipyard preview gc: 2 changes",
        "  delete  previews/pr-1  (TTL ran out at 2024-11-08T00:00:00Z)",
        "  delete  previews/pr-2  (TTL ran out at 2024-11-09T00:00:00Z)",
    ]
    assert "deferred to the next run: pr-3, pr-4" in text
    assert "skipped pr-5: malformed, never treated as expired" in text
    assert "skipped pr-6: not a Shipyard preview: no readable namespace.yaml" in text
    assert "unknown state 'weird' (treated as unknown, never as closed)" in text
    data = report.to_json()
    assert [d["reason"] for d in data["deferred"]] == ["expired", "closed"]
    assert data["prState"]["closed"] == [4] and data["maxDeletions"] == 2


def test_orphans_are_only_reported_without_delete_orphans() -> None:
    report = plan_orphans(
        [preview(7)], set(), now=NOW, max_deletions=5, protected=protected_namespaces([]), names=NamePattern()
    )
    assert report.plan(delete_orphans=False).empty
    assert "pass --delete-orphans" in report.plan(delete_orphans=False).notes[0]
    assert report.plan(delete_orphans=True).actions[0].target == "namespace/pr-7"
