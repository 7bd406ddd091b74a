"""The fast namespace.yaml reader never reads a file differently from a real YAML loader, and it is used.

Two real loaders are the reference: PyYAML's safe loader (YAML 1.1, the loader the caller falls back on) and
ruamel.yaml's safe loader (YAML 1.2). On every input the fast reader accepts, its answer must equal
both of theirs. It may decline (None) anything it cannot be sure of, but never a namespace in the shape and
vocabulary Shipyard writes: those must take the fast path, or the clean-up loses its speed without a word.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from shipyard.k8s.yaml import dump
from shipyard.previews.fastyaml import read_namespace
from shipyard.previews.render import PreviewRequest, render_preview
from shipyard.spec.loader import parse_spec
from shipyard.times import format_rfc3339

SPEC = "org: acme\ndomain: acme.example.com\nregistry: {url: harbor.acme.example.com}\n"
_RUAMEL = YAML(typ="safe")


def real_answers(text: str) -> tuple[Any, Any]:
    """What PyYAML (YAML 1.1) and ruamel.yaml (YAML 1.2) read from ``text``."""
    return yaml.safe_load(text), _RUAMEL.load(text)


def read_exactly_or_declined(text: str) -> dict[str, Any] | None:
    """The fast answer, after checking that it is what both real loaders read (when it is not a decline)."""
    fast = read_namespace(text)
    if fast is not None:
        pyyaml, ruamel = real_answers(text)
        assert fast == pyyaml, text
        assert fast == ruamel, text
    return fast


def read_fast_and_exactly(text: str) -> dict[str, Any]:
    """The fast answer of a file that must take the fast path, checked against both real loaders."""
    fast = read_exactly_or_declined(text)
    assert fast is not None, f"declined a namespace Shipyard writes:\n{text}"
    return fast


def namespace_text(name: str, labels: dict[str, str] | None, annotations: dict[str, str] | None) -> str:
    metadata: dict[str, object] = {"name": name}
    if labels is not None:
        metadata["labels"] = labels
    if annotations is not None:
        metadata["annotations"] = annotations
    return dump({"apiVersion": "v1", "kind": "Namespace", "metadata": metadata})


# Shipyard's vocabulary: the names, keys and values its namespaces carry (the dumper quotes those that YAML
# would read as something else, such as "true", "42" or a timestamp).
our_names = st.one_of(
    st.integers(1, 10**9).map(lambda n: f"pr-{n}"),
    st.from_regex(r"[a-z][a-z0-9-]{1,30}", fullmatch=True),
)
our_keys = st.from_regex(r"[a-z]{2,8}(\.[a-z]{2,8})?\.(dev|io)/[a-z][a-z0-9.-]{0,20}", fullmatch=True)
our_values = st.one_of(
    st.sampled_from(["true", "false", "shipyard"]),
    st.integers(0, 10**9).map(str),
    st.datetimes(timezones=st.just(UTC)).map(format_rfc3339),
    st.from_regex(r"([0-9]{1,3}[smhdw]){1,3}", fullmatch=True),  # a duration such as 7d or 1h30m
    st.from_regex(r"[a-z][a-z0-9-]{1,30}", fullmatch=True),  # a DNS label: yes, on, null and the like included
)
our_sections = st.one_of(st.none(), st.dictionaries(our_keys, our_values, min_size=1, max_size=6))

# Anything at all, with words YAML reads as something other than text.
# Words YAML reads as something other than text (by YAML 1.1's rules, 1.2's, or both), and some it does not.
BOOLEANS = [w for b in ("y", "yes", "n", "no", "true", "false", "on", "off") for w in (b, b.title(), b.upper())]
WORDS = [
    *BOOLEANS,
    *["null", "Null", "NULL", "~", ""],
    *["42", "007", "-1", "+1", "1_000", "0x1f", "0o17", "0b101", "1e3", "1.5", ".5", ".inf", "-.Inf", ".NaN"],
    *["12:30", "190:20:30", "2024-11-14", "2024-11-14T15:30:45Z", "2024-11-14 15:30:45"],
    *["=", "<<", "&a", "*a", "!x", "a b", "a#b", "a: b", "- a", "? a", "@a", "%a", "|", ">", "'", '"'],
    *["7d", "1h30m", "pr-1", "a", "shipyard"],
]
PLAIN_TEXT = {"7d", "1h30m", "pr-1", "a", "shipyard"}  # plain words every YAML reads as this very text
scalars = st.one_of(
    st.sampled_from(WORDS),
    st.from_regex(r"[a-zA-Z0-9][a-z0-9./-]{0,8}", fullmatch=True),
    st.text(max_size=12),
    st.text(alphabet="ab.-/:'# 7d", max_size=8),
)
any_sections = st.one_of(st.none(), st.dictionaries(scalars, scalars, max_size=4))


def test_shipyards_own_files_take_the_fast_path() -> None:
    files = render_preview(parse_spec(SPEC), PreviewRequest(42, "a" * 40, ("web",)), datetime(2024, 1, 1, tzinfo=UTC))
    fast = read_fast_and_exactly(files["namespace.yaml"])
    assert fast["metadata"]["annotations"]["shipyard.dev/created-at"] == "2024-01-01T00:00:00Z"


@settings(max_examples=200)
@given(our_names, our_sections, our_sections)
def test_every_namespace_in_shipyards_vocabulary_is_read_fast_and_exactly(
    name: str, labels: dict[str, str] | None, annotations: dict[str, str] | None
) -> None:
    fast = read_fast_and_exactly(namespace_text(name, labels, annotations))
    assert fast["metadata"] == {
        "name": name,
        **({"labels": labels} if labels is not None else {}),
        **({"annotations": annotations} if annotations is not None else {}),
    }


@st.composite
def dumped_namespaces(draw: st.DrawFn) -> tuple[str, bool]:
    """A dumped namespace whose parts come from Shipyard's vocabulary or from anywhere, and whether all are ours."""
    ours = [draw(st.booleans()) for _ in range(3)]
    name = draw(our_names if ours[0] else scalars)
    labels = draw(our_sections if ours[1] else any_sections)
    annotations = draw(our_sections if ours[2] else any_sections)
    return namespace_text(name, labels, annotations), all(ours)


@settings(max_examples=300)
@given(dumped_namespaces())
def test_dumped_namespaces_read_exactly_as_yaml_reads_them(case: tuple[str, bool]) -> None:
    text, ours = case
    if ours:
        read_fast_and_exactly(text)
    else:
        read_exactly_or_declined(text)


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
# A scalar as it may be written by hand: a tricky word plain or quoted, or odd characters.
raw_scalars = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(WORDS).map("'{}'".format),
    st.sampled_from(WORDS).map('"{}"'.format),
    st.text(alphabet="ab19.-_/:'\"#~!&*=<x ", max_size=8),
)
entry_lines = st.builds(
    "{}{}: {}".format,
    st.sampled_from(["  ", "    "]),
    st.sampled_from(["a", "name", "labels", "shipyard.dev/ttl", "y", "on"]),
    raw_scalars,
)


@settings(max_examples=200)
@given(
    our_names,
    our_sections,
    our_sections,
    st.lists(
        st.tuples(
            st.sampled_from(["insert", "replace", "delete"]),
            st.integers(0, 40),
            st.one_of(st.sampled_from(LINES), entry_lines, st.text(max_size=20)),
        ),
        min_size=1,
        max_size=3,
    ),
)
def test_edited_files_read_exactly_as_yaml_reads_them_or_not_at_all(
    name: str,
    labels: dict[str, str] | None,
    annotations: dict[str, str] | None,
    edits: list[tuple[str, int, str]],
) -> None:
    text = namespace_text(name, labels, annotations)
    read_fast_and_exactly(text)  # the file as written takes the fast path
    lines = text.split("\n")
    for kind, position, line in edits:  # a hand edit: whatever it does, the reading stays exact
        at = position % len(lines)
        if kind == "insert":
            lines.insert(at, line)
        elif kind == "replace":
            lines[at] = line
        elif len(lines) > 1:
            del lines[at]
    read_exactly_or_declined("\n".join(lines))


@settings(max_examples=300)
@given(our_names, st.dictionaries(our_keys, our_values, min_size=1, max_size=4), st.data())
def test_a_value_edited_by_hand_is_read_exactly_or_declined(
    name: str, labels: dict[str, str], data: st.DataObject
) -> None:
    text = namespace_text(name, labels, None)
    read_fast_and_exactly(text)
    lines = text.split("\n")
    entries = [i for i, line in enumerate(lines) if line.startswith("  ") and ": " in line]
    at = data.draw(st.sampled_from(entries))
    key = lines[at].split(": ", 1)[0]
    lines[at] = f"{key}: {data.draw(raw_scalars)}"
    read_exactly_or_declined("\n".join(lines))


def test_every_tricky_word_is_read_exactly_or_declined() -> None:
    base = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n  labels:\n    {key}: {value}\n"
    for word in WORDS:
        for written in (word, f"'{word}'", f'"{word}"'):
            for where in ("name", "key", "value"):
                text = base.format(**{"name": "pr-1", "key": "a", "value": "b", where: written})
                # What Shipyard writes: plain text words (keys start with a letter), single quotes around other values.
                if where == "key":
                    ours = written in PLAIN_TEXT and written[0].isalpha()
                else:
                    ours = written in PLAIN_TEXT or (written == f"'{word}'" and "'" not in word)
                if ours:
                    read_fast_and_exactly(text)
                else:
                    read_exactly_or_declined(text)


def test_declines_what_it_cannot_be_sure_of() -> None:
    base = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: pr-1\n  labels:\n"
    assert read_fast_and_exactly(base + "    a: b\n")["metadata"] == {"name": "pr-1", "labels": {"a": "b"}}
    for line in ["    shipyard.dev/preview: yes", "    a: 'it''s'", "    a: b # c", "    a: {}", "    a: 0x1f"]:
        assert read_namespace(base + line + "\n") is None, line
    assert read_namespace(base) is None  # `labels:` alone is null, not an empty mapping
    assert read_namespace((base + "    a: b\n").replace("\n", "\r\n")) is None
