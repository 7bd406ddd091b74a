"""Loading ``shipyard.yaml`` with errors that name file:line:column, the field, and what would be valid."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.reader import ReaderError

from shipyard.errors import Location, Problem, SpecError
from shipyard.spec.locate import SPEC_FILENAME, read_spec
from shipyard.spec.model import Loc, Platform, ReferenceProblems, merge_environments


def load_spec(path: Path) -> Platform:
    """Load and validate a platform spec file."""
    return parse_spec(read_spec(path)[1], str(path))


def parse_spec(text: str, filename: str = SPEC_FILENAME) -> Platform:
    """Parse spec text; every problem found is reported at once, each with its position."""
    yaml = YAML(typ="rt")
    try:
        document = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(filename, mark.line + 1, mark.column + 1) if mark else Location(filename)
        raise SpecError([Problem(where, "(syntax)", str(exc.problem or exc.context or "not valid YAML"))]) from exc
    except ReaderError as exc:  # characters YAML does not allow, found before parsing starts
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise SpecError(
            [
                Problem(
                    Location(filename, line, column),
                    "(syntax)",
                    f"character U+{_codepoint(exc.character):04X} is not allowed in YAML",
                )
            ]
        ) from exc
    except YAMLError as exc:
        raise SpecError([Problem(Location(filename), "(syntax)", f"not valid YAML: {exc}")]) from exc
    if not isinstance(document, CommentedMap):
        raise SpecError(
            [
                Problem(
                    Location(filename, 1, 1),
                    "(document)",
                    "the spec must be a mapping",
                    valid="apiVersion, kind, org, domain, registry, ...",
                )
            ]
        )
    data = _plain(document)
    try:
        return Platform.model_validate(data)
    except ValidationError as exc:
        raise SpecError(_problems(exc, document, data, filename)) from None


def problem_at(path: Path, loc: Loc, message: str, valid: str | None = None, suggestion: str | None = None) -> Problem:
    """A problem found after loading (e.g. against the workspace), placed at ``loc`` in the spec file."""
    document = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    return _problem(document, loc, message, valid, str(path), suggestion=suggestion)


def _codepoint(character: object) -> int:
    return character if isinstance(character, int) else ord(str(character)[:1] or "\0")


def _plain(node: Any) -> Any:
    # ruamel's round-trip types subclass the builtins; pydantic and the rest of the code want plain ones.
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def _problems(exc: ValidationError, document: CommentedMap, data: dict[str, Any], filename: str) -> list[Problem]:
    problems: list[Problem] = []
    env_map = _environment_index_map(data)
    for error in exc.errors(include_url=False):
        ctx = error.get("ctx") or {}
        original = ctx.get("error")
        if isinstance(original, ReferenceProblems):
            for loc, message in _where_written(document, original.problems, env_map):
                problems.append(_problem(document, loc, message, None, filename))
            continue
        loc = tuple(part for part in error["loc"] if not _is_union_tag(part))
        loc = _user_loc(loc, env_map)
        if error["type"] == "extra_forbidden":
            key = str(loc[-1])
            allowed = _allowed_keys(loc[:-1])
            suggestion = next(iter(difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)), None)
            problems.append(
                _problem(
                    document,
                    loc,
                    f"unknown key '{key}'",
                    ", ".join(allowed) or None,
                    filename,
                    suggestion=suggestion,
                )
            )
            continue
        message = str(error["msg"]).removeprefix("Value error, ")
        valid = _valid_values(error)
        problems.append(_problem(document, loc, message, valid, filename))
    return problems


def _problem(
    document: CommentedMap,
    loc: Loc,
    message: str,
    valid: str | None,
    filename: str,
    suggestion: str | None = None,
) -> Problem:
    line, column, _ = _reach(document, loc)
    field = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in loc).replace(".[", "[") or "(document)"
    return Problem(Location(filename, line, column), field, message, valid=valid, suggestion=suggestion)


def _is_union_tag(part: str | int) -> bool:
    # pydantic adds the member type of a union to the location, e.g. ('strategy', 'str'); not a key.
    return isinstance(part, str) and part in {"str", "int", "bool", "dict[str,any]", "list[any]"}


def _environment_index_map(data: dict[str, Any]) -> dict[int, int | None]:
    # Validation sees the merged environment list; map its indexes back to the user's own entries.
    merged = merge_environments(data)
    given = data.get("environments")
    if merged is None or not isinstance(given, list):
        return {}
    position = {e["name"]: i for i, e in enumerate(given) if isinstance(e, dict) and isinstance(e.get("name"), str)}
    mapping: dict[int, int | None] = {}
    for index, entry in enumerate(merged):
        name = entry.get("name") if isinstance(entry, dict) else None
        if isinstance(name, str) and name in position:
            mapping[index] = position[name]
        elif entry in given:
            mapping[index] = given.index(entry)
        else:
            mapping[index] = None
    return mapping


def _user_loc(loc: Loc, env_map: dict[int, int | None]) -> Loc:
    if len(loc) >= 2 and loc[0] == "environments" and isinstance(loc[1], int) and env_map:
        user_index = env_map.get(loc[1])
        return ("environments",) if user_index is None else ("environments", user_index, *loc[2:])
    return loc


def _where_written(
    document: CommentedMap, found: list[tuple[Loc, str]], env_map: dict[int, int | None]
) -> list[tuple[Loc, str]]:
    """Each problem at the fields the user wrote. A problem about several fields (an upstream cycle, a
    maturity mismatch) comes once per field, and some of them may be defaults the file never mentions;
    those are dropped when the user wrote one of the others."""
    placed = []
    for loc, message in found:
        user = _user_loc(loc, env_map)
        placed.append((user, message, len(user) == len(loc) and _written(document, user)))
    shown_written = {message for _, message, written in placed if written}
    kept: list[tuple[Loc, str]] = []
    for loc, message, written in placed:
        if (written or message not in shown_written) and (loc, message) not in kept:
            kept.append((loc, message))
    return kept


def _written(document: CommentedMap, loc: Loc) -> bool:
    """True when every part of ``loc`` is in the document (the user wrote that field)."""
    return _reach(document, loc)[2] == len(loc)


def _reach(document: CommentedMap, loc: Loc) -> tuple[int, int, int]:
    """The line and column of the deepest part of ``loc`` present in the document, and how many parts are."""
    node: Any = document
    line, column = 1, 1
    for depth, part in enumerate(loc):
        if isinstance(node, CommentedMap) and part in node:
            line, column = node.lc.key(part)
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            line, column = node.lc.item(part)
        else:
            return line, column, depth
        line, column = line + 1, column + 1
        node = node[part]
    return line, column, len(loc)


def _valid_values(error: Any) -> str | None:
    ctx = error.get("ctx") or {}
    if "expected" in ctx:
        return str(ctx["expected"])
    if "pattern" in ctx:
        return f"text matching {ctx['pattern']}"
    return None


def _allowed_keys(loc: Iterable[str | int]) -> list[str]:
    """The keys the model allows at a location, by walking the model's field types."""
    current: Any = Platform
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    model = _model_in(current)
    if model is None:
        return []
    return sorted((f.alias or name) for name, f in model.model_fields.items())


def _step(annotation: Any, part: str | int) -> Any:
    model = _model_in(annotation)
    if model is not None and isinstance(part, str):
        for name, field in model.model_fields.items():
            if part in (name, field.alias):
                return field.annotation
        return None
    for arg in _args(annotation):
        origin = typing.get_origin(arg)
        if origin is list and isinstance(part, int):
            return typing.get_args(arg)[0]
        if origin is dict and isinstance(part, str):
            return typing.get_args(arg)[1]
    return None


def _args(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _args(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [a for arg in typing.get_args(annotation) for a in _args(arg)]
    return [annotation]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    for arg in _args(annotation):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None
