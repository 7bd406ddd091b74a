"""PR states: only positive evidence makes a pull request "closed"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
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
# Files shaped like PR state files, right and wrong: a few PR numbers, so entries meet and contradict each other.
NUMBERS = (1, 2, 3)
number_texts = st.sampled_from(NUMBERS).map(str) | st.sampled_from(["0", "01", "-1", " 1", "1.0", ""])
state_words = (
    st.sampled_from(["closed", "merged", "open", "draft", "CLOSED", " Merged ", "Open", "weird", ""])
    | st.none()
    | st.booleans()
    | st.integers(0, 2)
)
pulls = st.fixed_dictionaries(
    {"number": st.sampled_from(NUMBERS) | number_texts | st.booleans() | st.none()},
    optional={
        "state": state_words,
        "merged": st.booleans() | st.none(),
        "mergedAt": st.sampled_from(["", "2024-11-14T15:30:45Z"]) | st.none(),
        "merged_at": st.sampled_from(["", "2024-11-14T15:30:45Z"]) | st.none(),
    },
)
state_files = st.one_of(
    st.dictionaries(number_texts, state_words, max_size=5),
    st.lists(pulls, max_size=6),
    st.lists(pulls | json_values, max_size=6),
    json_values,
)


def evidence(data: Any, number: int) -> set[str]:
    """The states (closed, open) that well-formed entries of ``data`` give for PR ``number``."""

    def word(value: Any) -> set[str]:
        text = value.strip().lower() if isinstance(value, str) else None
        return {"closed"} if text in ("closed", "merged") else {"open"} if text in ("open", "draft") else set()

    if isinstance(data, dict):
        return {w for k, v in data.items() if k == str(number) for w in word(v)}
    if not isinstance(data, list):
        return set()
    found: set[str] = set()
    for item in data:
        if not isinstance(item, dict) or isinstance(item.get("number"), bool):
            continue
        if item.get("number") not in (number, str(number)):
            continue
        merged = item.get("merged") is True or bool(item.get("mergedAt") or item.get("merged_at"))
        found |= {"closed"} if merged else word(item.get("state"))
    return found


@settings(max_examples=500)
@given(state_files)
def test_closed_exactly_on_uncontradicted_positive_evidence(data: Any) -> None:
    states = parse_pr_states(data, "f")
    for number in {*NUMBERS, *states.states}:
        assert states.is_closed(number) == (evidence(data, number) == {"closed"}), number
