"""``freight list``'s records: each freight with the stages it passed, its first move into each."""

from __future__ import annotations

from shipyard.promotion.ledger import Entry, FreightRecords, Ledger, entry_from_commit


def commit(sha: str, date: str, subject: str, **trailers: str) -> Entry:
    names = {"pr": "PR"}
    lines = "\n".join(f"Shipyard-{names.get(key, key.title())}: {value}" for key, value in trailers.items())
    entry = entry_from_commit(sha, "Riley Release", date, f"{subject}\n\n{lines}\n")
    assert entry is not None
    return entry


def test_each_freight_lists_its_first_move_into_each_stage_oldest_first() -> None:
    ledger = Ledger(
        [
            commit("a1", "2026-12-01T10:00:00+00:00", "Freight v1", freight="f1", version="v1.0.0-beta.1", pr="7"),
            commit("b1", "2026-12-01T11:00:00+00:00", "Promote", freight="f1", version="v1.0.0-beta.1", stage="uat"),
            commit("a2", "2026-12-02T10:00:00+00:00", "Freight v2", freight="f2", version="v1.1.0-beta.1"),
            commit("b2", "2026-12-02T11:00:00+00:00", "Promote", freight="f2", version="v1.1.0-beta.1", stage="uat"),
            commit("b3", "2026-12-03T11:00:00+00:00", "Promote", freight="f1", version="v1.0.0-beta.1", stage="uat"),
            commit("b4", "2026-12-04T11:00:00+00:00", "Promote", freight="f1", version="v1.0.0", stage="production"),
        ]
    )
    records = FreightRecords.of(ledger)
    assert [e.freight for e in records.entries] == ["f1", "f2"]
    (first, second) = records.to_json()
    assert [(m["stage"], m["commit"], m["version"]) for m in first["passed"]] == [
        ("uat", "b1", "v1.0.0-beta.1"),
        ("production", "b4", "v1.0.0"),
    ]
    assert first["pr"] == "7" and first["passed"][0]["by"] == "Riley Release"
    assert [m["stage"] for m in second["passed"]] == ["uat"]
