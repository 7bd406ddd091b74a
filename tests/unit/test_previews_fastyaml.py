"""The fast namespace.yaml reader never reads a file differently from a real YAML loader: it either gives
exactly what PyYAML's safe loader gives, or declines (None) and the caller uses the full loader."""

from __future__ import annotations

from datetime import UTC, datetime

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from shipyard.k8s.yaml import dump
from shipyard.previews.fastyaml import read_namespace
from shipyard.previews.render import PreviewRequest, render_preview
from shipyard.spec.loader import parse_spec

SPEC = "org: acme\ndomain: acme.example.com\nregistry: {url: harbor.acme.example.com}\n"
WORDS = ["true", "yes", "Yes", "on", "null", "~", "7d", "1h30m", "0x1f", "1e3", "1.5", "12:30", "2024-11-14", "pr-1"]
scalars = st.one_of(
    st.sampled_from(WORDS),
    st.from_regex(r"[a-zA-Z0-9][a-z0-9./-]{0,8}", fullmatch=True),
    st.text(max_size=12),
    st.text(alphabet="ab.-/:'# 7d", max_size=8),
)
sections = st.dictionaries(scalars, scalars, max_size=4)


def namespace_text(name: str, labels: dict[str, str] | None, annotations: dict[str, str] | None) -> str:
    metadata: dict[str, object] = {"name": name}
    if labels is not None:
        metadata["labels"] = labels
    if annotations is not None:
        metadata["annotations"] = annotations
    return dump({"apiVersion": "v1", "kind": "Namespace", "metadata": metadata})


def test_shipyards_own_files_take_the_fast_path() -> None:
    files = render_preview(parse_spec(SPEC), PreviewRequest(42, "a" * 40, ("web",)), datetime(2024, 1, 1, tzinfo=UTC))
    text = files["namespace.yaml"]
    assert read_namespace(text) == yaml.safe_load(text)


@settings(max_examples=300)
@given(scalars, st.one_of(st.none(), sections), st.one_of(st.none(), sections))
def test_dumped_namespaces_read_exactly_as_yaml_reads_them(
    name: str, labels: dict[str, str] | None, annotations: dict[str, str] | None
) -> None:
    text = namespace_text(name, labels, annotations)
    fast = read_namespace(text)
    if fast is not None:
        assert fast == yaml.safe_load(text)


LINES = [
    "  labels:",
    "  annotations:",
    "  name: x",
    "    a: b",
    "    k: 'v w'",
    "    ttl: 7d",
    "    n: 42",
    "    y: yes",
]


@settings(max_examples=300)
@given(st.lists(st.one_of(st.sampled_from(LINES), st.text(max_size=20))))
def test_arbitrary_lines_read_exactly_as_yaml_reads_them_or_not_at_all(lines: list[str]) -> None:
    text = "\n".join(["apiVersion: v1", "kind: Namespace", "metadata:", *lines]) + "\n"
    fast = read_namespace(text)
    if fast is not None:
        assert fast == yaml.safe_load(text)


def test_declines_what_it_cannot_be_sure_of() -> None:
    base = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: pr-1\n  labels:\n"
    for line in ["    shipyard.dev/preview: yes", "    a: 'it''s'", "    a: b # c", "    a: {}", "    a: 0x1f"]:
        assert read_namespace(base + line + "\n") is None, line
    assert read_namespace(base) is None  # `labels:` alone is null, not an empty mapping
    assert read_namespace(base.replace("\n", "\r\n")) is None
