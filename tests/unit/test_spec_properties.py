"""Property tests of the spec parser: any input gives a Platform or a SpecError, never a crash."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from shipyard.errors import SpecError
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
