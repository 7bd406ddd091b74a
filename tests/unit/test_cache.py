"""The content-addressed cache: hits, misses, corrupt entries, pruning, and turning it off."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipyard import cache as cache_module
from shipyard.cache import Cache, code_stamp, content_key, library_stamp


def test_put_then_get_returns_the_value(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "c")
    assert cache.get("kind", "k") is None
    cache.put("kind", "k", {"a": [1, "two", None]})
    assert cache.get("kind", "k") == {"a": [1, "two", None]}
    assert cache.get("other", "k") is None
    assert not list((tmp_path / "c" / "kind").glob("tmp-*")), "no temporary file is left behind"


def test_a_corrupt_entry_is_a_miss_and_is_replaced(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    (tmp_path / "kind").mkdir()
    (tmp_path / "kind" / "k.json").write_bytes(b'{"truncated": ')
    assert cache.get("kind", "k") is None
    cache.put("kind", "k", [1])
    assert cache.get("kind", "k") == [1]


def test_only_the_newest_entries_are_kept(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    for number in range(cache_module.KEEP + 4):
        cache.put("kind", f"k{number}", number)
        path = tmp_path / "kind" / f"k{number}.json"
        os.utime(path, ns=(number * 10**9, number * 10**9))  # distinct ages whatever the clock's resolution
    cache.put("kind", "last", "x")
    kept = sorted(p.stem for p in (tmp_path / "kind").glob("*.json"))
    assert len(kept) == cache_module.KEEP
    assert "last" in kept and "k0" not in kept and "k1" not in kept


def test_a_cache_without_a_folder_holds_nothing() -> None:
    cache = Cache(None)
    cache.put("kind", "k", 1)
    assert cache.get("kind", "k") is None


def test_an_unwritable_folder_is_skipped_silently(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    cache = Cache(blocker / "cache")  # cannot be created: its parent is a file
    cache.put("kind", "k", 1)
    assert cache.get("kind", "k") is None


def test_outside_a_repository_there_is_no_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    assert Cache.for_repository(tmp_path).folder is None


def test_a_clone_and_its_worktrees_share_one_cache(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "init", "-q", str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "commit", "-q", "--allow-empty", "-m", "first"], check=True)
    (clone / "sub").mkdir()
    expected = (clone / ".git" / "shipyard" / "cache").resolve()
    assert Cache.for_repository(clone / "sub").folder == expected  # found on disk, no git process
    worktree = tmp_path / "worktree"
    subprocess.run(["git", "-C", str(clone), "worktree", "add", "-q", str(worktree)], check=True)
    assert Cache.for_repository(worktree).folder == expected  # a .git file: git names the common folder


def test_code_stamp_changes_when_the_code_does(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("x = 1\n")
    before = code_stamp(str(module))
    module.write_text("x = 22\n")
    assert code_stamp(str(module)) != before


def test_library_stamp_names_the_installed_versions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    (site / "onelib").mkdir(parents=True)
    (site / "onelib" / "__init__.py").write_text("")
    (site / "One_Lib-2.0.dist-info").mkdir()  # metadata folders spell names in several ways
    (site / "single.py").write_text("")
    (site / "single-0.3-py3.11.egg-info").write_text("")
    (site / "space" / "yaml").mkdir(parents=True)  # a namespace package, as ruamel is
    (site / "space" / "yaml" / "__init__.py").write_text("")
    (site / "space.yaml-0.19.dist-info").mkdir()
    (site / "onelib_extra-9.dist-info").mkdir()  # another distribution whose name starts the same
    monkeypatch.syspath_prepend(str(site))
    libraries = (("onelib", "one-lib"), ("single", "single"), ("space", "space.yaml"))
    stamp = library_stamp(*libraries)
    assert stamp is not None
    assert stamp.split("|")[1:] == ["One_Lib-2.0.dist-info", "single-0.3-py3.11.egg-info", "space.yaml-0.19.dist-info"]
    (site / "space.yaml-0.19.dist-info").rename(site / "space_yaml-0.20.dist-info")
    assert library_stamp(*libraries) == stamp.replace("space.yaml-0.19", "space_yaml-0.20")


def test_library_stamp_is_none_when_a_version_cannot_be_told(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bare").mkdir()
    (tmp_path / "bare" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert library_stamp(("bare", "bare")) is None
    assert library_stamp(("no_such_module_here", "no-such")) is None


@given(st.lists(st.binary(max_size=8), max_size=4), st.lists(st.binary(max_size=8), max_size=4))
def test_keys_differ_when_the_chunks_differ(left: list[bytes], right: list[bytes]) -> None:
    # Lengths are hashed with the bytes, so ["ab", "c"] and ["a", "bc"] are different inputs.
    assert (content_key("s", left) == content_key("s", right)) == (left == right)
