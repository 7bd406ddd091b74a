"""Matrix batches: every affected service in exactly one batch, never more batches than Tekton allows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipyard.ci.batches import RESULT_LIMIT, batch, matrix_batches, read_matrix, result_text, split
from shipyard.errors import ShipyardError

names = st.lists(st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True), unique=True, max_size=3000)


@given(services=names, max_batches=st.integers(min_value=1, max_value=256))
def test_split_partitions_in_order(services: list[str], max_batches: int) -> None:
    batches = split(services, max_batches)
    assert [s for b in batches for s in b] == services
    assert len(batches) <= max_batches
    assert all(batches)
    if batches:
        assert max(map(len, batches)) - min(map(len, batches)) <= 1
        assert len(batches) == min(len(services), max_batches)
    assert len(result_text(batches).encode()) <= RESULT_LIMIT


def test_thousands_of_services_fit_tektons_limits() -> None:
    services = [f"service-{i:05d}" for i in range(5000)]
    batches = split(services, 256)
    assert len(batches) == 256
    assert json.loads(result_text(batches)) == [str(i) for i in range(256)]


def test_no_services_still_gives_the_matrix_one_empty_batch() -> None:
    # An empty matrix would make Tekton skip the build task and every task after it.
    assert split([], 256) == []
    assert matrix_batches([], 256) == [[]]
    assert result_text(matrix_batches([], 256)) == '["0"]'
    assert matrix_batches(["a", "b"], 256) == [["a"], ["b"]]


def test_batch_file_round_trip_and_errors(tmp_path: Path) -> None:
    matrix = tmp_path / "affected.json"
    matrix.write_text('["a", "b", "c", "a"]')
    assert read_matrix(matrix) == ["a", "b", "c"]
    stored = tmp_path / "batches.json"
    stored.write_text(json.dumps(split(read_matrix(matrix), 2)))
    assert batch(stored, 0) == ["a", "b"]
    assert batch(stored, 1) == ["c"]
    with pytest.raises(ShipyardError, match=r"valid: 0\.\.1"):
        batch(stored, 2)
    matrix.write_text('{"services": []}')
    with pytest.raises(ShipyardError, match="JSON array"):
        read_matrix(matrix)
    with pytest.raises(ShipyardError, match="at least 1"):
        split(["a"], 0)
