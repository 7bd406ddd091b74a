"""PR states: only positive evidence makes a pull request "closed"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipyard.errors import ShipyardError
from shipyard.previews.prstate import parse_pr_states, read_pr_states


def test_mapping_and_github_shapes() -> None:
    states = parse_pr_states({"1": "closed", "2": "open", "3": "MERGED", "4": "weird", "05": "closed"}, "f")
    assert [n for n in range(1, 6) if states.is_closed(n)] == [1, 3]
    assert len(states.problems) == 2
    pulls = [
        {"number": 7, "state": "closed"},
        {"number": 8, "state": "open"},
        {"number": 9, "state": "closed", "merged": True},
        {"number": 10, "state": "OPEN"},
        {"number": 11, "state": "MERGED"},
        {"number": "12", "state": "closed"},
        {"number": True, "state": "closed"},
        "junk",
    ]
    states = parse_pr_states(pulls, "gh")
    assert sorted(n for n in range(1, 20) if states.is_closed(n)) == [7, 9, 11, 12]


def test_contradicting_entries_are_no_evidence() -> None:
    states = parse_pr_states([{"number": 3, "state": "open"}, {"number": 3, "state": "closed"}], "f")
    assert not states.is_closed(3) and states.problems


def test_a_file_that_cannot_be_read_is_refused_before_anything_is_decided(tmp_path: Path) -> None:
    with pytest.raises(ShipyardError, match="cannot read"):
        read_pr_states(tmp_path / "nope.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"1": "closed"')
    with pytest.raises(ShipyardError, match="not valid JSON"):
        read_pr_states(broken)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps("closed"))
    with pytest.raises(ShipyardError, match="holds str, not pull requests"):
        read_pr_states(wrong)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 5000 + "]" * 5000)
    with pytest.raises(ShipyardError, match="deeper than"):
        read_pr_states(deep)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.sampled_from(["closed", "merged", "open"]),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=4), inner, max_size=5),
    max_leaves=30,
)


def said_closed(data: Any, number: int) -> bool:
    """Whether ``data`` holds an entry naming ``number`` with a closed or merged word."""
    words = {"closed", "merged"}
    if isinstance(data, dict):
        return any(k == str(number) and isinstance(v, str) and v.strip().lower() in words for k, v in data.items())
    if isinstance(data, list):
        return any(
            isinstance(item, dict)
            and item.get("number") in (number, str(number))
            and (
                (isinstance(item.get("state"), str) and item["state"].strip().lower() in words)
                or item.get("merged") is True
                or bool(item.get("mergedAt") or item.get("merged_at"))
            )
            for item in data
        )
    return False


@given(json_values)
def test_closed_only_on_positive_evidence(data: Any) -> None:
    states = parse_pr_states(data, "f")
    for number in states.states:
        if states.is_closed(number):
            assert said_closed(data, number)
