"""Regular expressions that check input: anchored so a trailing newline fails, ASCII digits only.

Python's ``$`` also matches before a final newline, so ``re.match(r"^[0-9a-f]{7,64}$", "abc1234\\n")``
succeeds and the newline goes on into a tag, a host or a file. ``\\d`` matches any script's digits, and
``int()`` reads them. This test reads every module and refuses both in patterns given to ``re`` (a
pattern for pydantic's ``Field(pattern=...)`` is checked by Rust's engine, where ``$`` is the end of the
text). Line-oriented patterns compiled with ``re.MULTILINE`` may use ``$`` for a line's end.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from shipyard.previews.repo import check_request
from shipyard.registry.reference import check_tag, parse_reference
from shipyard.versioning.branch import BranchError, classify
from shipyard.versioning.semver import Version, VersionError

SOURCE = Path(__file__).resolve().parents[2] / "src" / "shipyard"
RE_CALLS = {"compile", "match", "search", "fullmatch", "sub", "subn", "findall", "finditer", "split"}


def _literal(node: ast.expr) -> str | None:
    """The text of a pattern argument: a string constant, or the constant parts of an f-string."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    return None


def _flags(call: ast.Call) -> str:
    return " ".join(ast.unparse(a) for a in [*call.args[1:], *(k.value for k in call.keywords)])


def _patterns() -> list[tuple[str, int, str, str]]:
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        if "scaffold/templates" in path.as_posix():
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "re"
                and node.func.attr in RE_CALLS
                and node.args
            ):
                text = _literal(node.args[0])
                if text is not None:
                    found.append((path.relative_to(SOURCE).as_posix(), node.lineno, text, _flags(node)))
    return found


def test_the_source_has_patterns_to_check() -> None:
    assert len(_patterns()) > 30


def test_no_pattern_ends_with_a_dollar_that_accepts_a_trailing_newline() -> None:
    offenders = [
        f"{where}:{line}: {text!r}"
        for where, line, text, flags in _patterns()
        if re.search(r"(?<!\\)\$(\)|\Z)", text) and "MULTILINE" not in flags and ".M" not in flags
    ]
    assert not offenders, "use fullmatch (or \\Z) instead of $:\n" + "\n".join(offenders)


def test_no_pattern_takes_other_scripts_digits() -> None:
    offenders = [
        f"{where}:{line}: {text!r}"
        for where, line, text, flags in _patterns()
        if "\\d" in text and "ASCII" not in flags
    ]
    assert not offenders, "use [0-9] or re.ASCII with \\d:\n" + "\n".join(offenders)


# the review's examples, each through the function that checks it


def test_a_sha_with_a_trailing_newline_is_refused() -> None:
    with pytest.raises(Exception, match="is not a commit id"):
        check_request(1, "abc1234\n", [], ["api"])


@pytest.mark.parametrize("tag", ["v1\n", "v1 ", ".v1", "-v1", "x" * 129, "v1\u0663"])
def test_an_image_tag_with_a_newline_or_over_128_is_refused(tag: str) -> None:
    with pytest.raises(Exception, match="not a valid tag"):
        check_tag(tag)
    with pytest.raises(Exception, match="not a valid tag"):
        parse_reference(f"registry.example.com/services/api:{tag}")


@pytest.mark.parametrize("text", ["v1.2.3\n", "v\u0661.2.3", "v1.2.3-beta.\u0663", "v" + "9" * 200 + ".0.0"])
def test_versions_are_ascii_and_fit_an_image_tag(text: str) -> None:
    with pytest.raises(VersionError):
        Version.parse(text)


@pytest.mark.parametrize("name", ["release/v1.2.3\n", "hotfix/fix\n", "feature/api-x\n", "release/v\u0661.2.3"])
def test_branch_names_with_a_trailing_newline_or_other_digits_are_refused(name: str) -> None:
    with pytest.raises(BranchError):
        classify(name)


def test_a_branch_name_longer_than_git_accepts_is_refused() -> None:
    with pytest.raises(BranchError, match="longer than 255 bytes"):
        classify("hotfix/" + "a" * 300)
