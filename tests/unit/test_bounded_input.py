"""The bounded reader: sizes, nesting depths and alias expansion are limited at every parser of outside input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from shipyard.bounded import (
    MAX_DEPTH,
    InputError,
    TooComplex,
    TooLarge,
    load_yaml,
    load_yaml_all,
    parse_json,
    read_bytes,
    read_json,
    read_text,
)


def bomb(levels: int, fanout: int) -> str:
    """The billion laughs in YAML: each level's list holds ``fanout`` aliases of the level before."""
    lines = ["l0: &l0 [" + ", ".join(['"lol"'] * fanout) + "]"]
    for level in range(1, levels + 1):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * fanout) + "]")
    return "\n".join(lines) + "\n"


def nested_json(depth: int) -> str:
    return "[" * depth + "]" * depth


def nested_yaml(depth: int) -> str:
    return "".join("  " * level + "a:\n" for level in range(depth)) + "  " * depth + "b\n"


def test_the_reviews_alias_bomb_is_refused_without_being_expanded() -> None:
    # 618 bytes of YAML that stand for 10^9 strings: refused from its first lines.
    text = bomb(9, 9)
    with pytest.raises(TooComplex, match="more than 1000000 values once its aliases are expanded"):
        load_yaml(text, "bomb.yaml")


@settings(max_examples=40, deadline=None)
@given(levels=st.integers(1, 12), fanout=st.integers(1, 12), limit=st.integers(10, 100_000))
def test_aliases_count_as_often_as_they_are_used(levels: int, fanout: int, limit: int) -> None:
    text = bomb(levels, fanout)
    # Every list of level n stands for fanout**(n+1) strings plus the lists themselves.
    lists = {n: fanout ** (n + 1) + sum(fanout**k for k in range(n + 1)) for n in range(levels + 1)}
    expanded = 1 + sum(1 + lists[n] for n in range(levels + 1))  # the mapping, each key, each value
    if expanded <= limit:
        data = load_yaml(text, "f.yaml", max_nodes=limit)
        assert len(data) == levels + 1
    else:
        with pytest.raises(TooComplex):
            load_yaml(text, "f.yaml", max_nodes=limit)


def test_an_alias_to_its_own_container_is_refused() -> None:
    with pytest.raises(TooComplex, match="contains it"):
        load_yaml("a: &a [1, *a]\n", "loop.yaml")


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3 * MAX_DEPTH))
def test_depth_is_limited_in_json_and_yaml(depth: int) -> None:
    for parse, text in ((parse_json, nested_json(depth)), (load_yaml, nested_yaml(depth))):
        if depth <= MAX_DEPTH:
            parse(text, "f")
        else:
            with pytest.raises(TooComplex, match="deeper than"):
                parse(text, "f")


def test_brackets_past_the_interpreters_recursion_limit_are_refused_too() -> None:
    with pytest.raises(TooComplex):
        parse_json(nested_json(200_000), "deep.json")
    with pytest.raises(InputError):
        load_yaml("[" * 200_000 + "]" * 200_000, "deep.yaml")


@settings(max_examples=50, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=5), c, max_size=4),
        max_leaves=30,
    )
)
def test_ordinary_data_reads_back_as_itself(data: object) -> None:
    assert parse_json(json.dumps(data), "d.json") == data
    assert load_yaml(yaml.safe_dump(data), "d.yaml") == data


def test_a_file_over_its_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 2048 + b"{}")
    with pytest.raises(TooLarge, match="larger than 2 KiB"):
        read_json(big, 2048)
    assert read_json(big, 4096) == {}


def test_dev_zero_is_refused_at_once() -> None:
    with pytest.raises(TooLarge):
        read_bytes(Path("/dev/zero"), 65536, "the token file")


def test_unreadable_files_say_why(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a folder"):
        read_text(tmp_path, 10)
    with pytest.raises(InputError, match="cannot read"):
        read_text(tmp_path / "absent", 10)
    (tmp_path / "latin1").write_bytes(b"a\nb\xe9\n")
    with pytest.raises(InputError, match="line 2: not UTF-8"):
        read_text(tmp_path / "latin1", 10)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: [1\n", "line 2: not valid YAML"),
        ("x: !!python/object/apply:os.system ['true']\n", "could not determine a constructor"),
        ("a: 1\na: 2\n", None),  # YAML's own reading (last wins) stays the loader's; the spec refuses duplicates
    ],
)
def test_yaml_errors_are_input_errors(text: str, message: str | None) -> None:
    if message is None:
        load_yaml(text, "f.yaml")
        return
    with pytest.raises(InputError, match=message):
        load_yaml(text, "f.yaml")


def test_json_errors_name_the_input() -> None:
    for text, message in (("{", "not valid JSON"), (b"\xff", "not UTF-8"), ("1" * 5000, "not valid JSON")):
        with pytest.raises(InputError, match=message):
            parse_json(text, "body")


def test_a_stream_is_read_document_by_document() -> None:
    assert load_yaml_all("a: 1\n---\n---\nb: 2\n", "s.yaml") == [{"a": 1}, {"b": 2}]
    with pytest.raises(InputError, match="holds 2 YAML documents"):
        load_yaml("a: 1\n---\nb: 2\n", "s.yaml")
