"""Commit trailers survive formatting and parsing; values that would break a message are refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipyard.git import TRAILER_KEYS, format_message, parse_trailers

values = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=30).map(str.strip)
messages = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=40).filter(str.strip)


@given(messages, st.lists(st.tuples(st.sampled_from(TRAILER_KEYS), values.filter(bool)), min_size=1, max_size=5))
def test_trailers_roundtrip(message: str, trailers: list[tuple[str, str]]) -> None:
    assert parse_trailers(format_message(message.replace("\n", " "), trailers)) == trailers


def test_a_value_with_a_newline_is_refused() -> None:
    with pytest.raises(ValueError, match="invalid trailer"):
        format_message("Promote", [("Shipyard-Stage", "uat\nShipyard-Approved-By: mallory")])
