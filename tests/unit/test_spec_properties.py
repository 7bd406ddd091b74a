"""Property tests of the spec parser: any input gives a Platform or a SpecError, never a crash."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from shipyard.errors import SpecError
from shipyard.spec.duration import parse_duration
from shipyard.spec.loader import parse_spec

KEYS = [
    "org",
    "domain",
    "registry",
    "url",
    "kind",
    "environments",
    "name",
    "strategy",
    "canary",
    "steps",
    "preview",
    "ttl",
    "services",
    "port",
    "replicas",
    "dev",
    "promotion",
    "cluster",
    "upstream",
    "scan",
    "severityThreshold",
    "database",
    "secretRef",
    "maturities",
    "orgg",
    "x",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 70000),
    st.text(max_size=12),
    st.sampled_from(["acme", "acme.example.com", "7d", "canary", "rolling", "auto", "beta", "dev"]),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.sampled_from(KEYS), children, max_size=5)
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS), documents, max_size=6))
def test_any_document_loads_or_reports_problems(document: dict[str, object]) -> None:
    text = yaml.safe_dump(document)
    try:
        parse_spec(text)
    except SpecError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.location.line is not None and problem.location.line >= 1
            assert problem.message


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_loads_or_reports_problems(text: str) -> None:
    try:
        parse_spec(text)
    except SpecError as exc:
        assert exc.problems


@given(st.lists(st.tuples(st.integers(1, 10_000), st.sampled_from("smhdw")), min_size=1, max_size=4))
def test_duration_sums_its_parts(parts: list[tuple[int, str]]) -> None:
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    text = "".join(f"{n}{unit}" for n, unit in parts)
    assert parse_duration(text) == timedelta(seconds=sum(n * seconds[u] for n, u in parts))


@pytest.mark.parametrize("text", ["", "7", "d", "7 d", "-1d", "0d", "1.5h", "7days"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)
