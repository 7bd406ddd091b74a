"""Loading ``shipyard.yaml`` with errors that name file:line:column, the field, and what would be valid.

The text is parsed as YAML 1.2 by ruamel's safe pipeline, composed within bounds (``MAX_SPEC_DEPTH``
levels, ``MAX_SPEC_NODES`` values with aliases expanded, so an alias bomb is refused from its first
lines), and the composed nodes give every problem its line and column. The round-trip parser is not
used: it takes quadratic time over long runs of comments.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from shipyard.bounded import InputError, NodeBudget, TooComplex
from shipyard.errors import Location, Problem, SpecError
from shipyard.spec.locate import MAX_SPEC_BYTES, SPEC_FILENAME, read_spec
from shipyard.spec.model import Loc, Platform, ReferenceProblems, merge_environments

MAX_SPEC_DEPTH = 32
"""How deeply ``shipyard.yaml`` may nest; the model itself needs six levels."""
MAX_SPEC_NODES = 100_000
"""How many values ``shipyard.yaml`` may stand for once its aliases are expanded."""


def load_spec(path: Path) -> Platform:
    """Load and validate a platform spec file."""
    return parse_spec(read_spec(path)[1], str(path))


def compose(text: str, filename: str) -> tuple[Any, Any]:
    """The composed root node of a YAML text and its data; YAML and limit errors raise SpecError."""
    from ruamel.yaml import YAML
    from ruamel.yaml.composer import Composer
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.events import AliasEvent, ScalarEvent
    from ruamel.yaml.reader import ReaderError

    budget = NodeBudget(filename, MAX_SPEC_DEPTH, MAX_SPEC_NODES)

    class BoundedComposer(Composer):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.parser.check_event(AliasEvent):
                event = self.parser.peek_event()
                target = self.anchors.get(event.anchor)
                if target is not None:
                    budget.alias(target, event.start_mark)
                return super().compose_node(parent, index)
            budget.enter(self.parser.peek_event().start_mark, not self.parser.check_event(ScalarEvent))
            node = super().compose_node(parent, index)
            budget.leave(node)
            return node

    yaml = YAML(typ="safe", pure=True)
    yaml.Composer = BoundedComposer
    try:
        constructor, parser = yaml.get_constructor_parser(text)
        try:
            root = constructor.composer.get_single_node()
            return root, (None if root is None else constructor.construct_document(root))
        finally:
            parser.dispose()
    except TooComplex as exc:
        raise SpecError([Problem(Location(filename, exc.line), "(document)", exc.reason)]) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(filename, mark.line + 1, mark.column + 1) if mark else Location(filename)
        message = str(exc.problem or exc.context or "not valid YAML").strip().splitlines()[0]
        raise SpecError([Problem(where, "(syntax)", message)]) from None
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
        ) from None
    except YAMLError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SpecError([Problem(Location(filename), "(syntax)", f"not valid YAML: {reason}")]) from None
    except RecursionError:  # a constructor's own recursion (nested merge keys); the depth limit keeps it rare
        raise SpecError([Problem(Location(filename), "(document)", "nests too deeply: refused")]) from None


def parse_spec(text: str, filename: str = SPEC_FILENAME) -> Platform:
    """Parse spec text; every problem found is reported at once, each with its position."""
    from ruamel.yaml.nodes import MappingNode

    if len(text) > MAX_SPEC_BYTES:  # characters: what read_spec let through is never more
        raise SpecError([Problem(Location(filename), "(document)", f"larger than {MAX_SPEC_BYTES >> 20} MiB: refused")])
    document, loaded = compose(text, filename)
    if not isinstance(document, MappingNode) or not isinstance(loaded, dict):
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
    data = _plain(loaded)
    try:
        return Platform.model_validate(data)
    except ValidationError as exc:
        raise SpecError(_problems(exc, document, data, filename)) from None


def problem_at(path: Path, loc: Loc, message: str, valid: str | None = None, suggestion: str | None = None) -> Problem:
    """A problem found after loading (e.g. against the workspace), placed at ``loc`` in the spec file."""
    try:
        document = compose(read_spec(path)[1], str(path))[0]
    except (SpecError, InputError):
        document = None
    return _problem(document, loc, message, valid, str(path), suggestion=suggestion)


def place_problems(path: Path, found: list[tuple[Loc, str]]) -> list[Problem]:
    """Problems found after loading (e.g. against the workspace), each placed where the user wrote the field
    (an environment's index in the merged list is mapped to the user's entry)."""
    if not found:
        return []
    try:
        document, loaded = compose(read_spec(path)[1], str(path))
    except (SpecError, InputError):
        document, loaded = None, None
    env_map = _environment_index_map(_plain(loaded)) if isinstance(loaded, dict) else {}
    return [
        _problem(document, loc, message, None, str(path)) for loc, message in _where_written(document, found, env_map)
    ]


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


def _problems(exc: ValidationError, document: Any, data: dict[str, Any], filename: str) -> list[Problem]:
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
    document: Any,
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
    document: Any, found: list[tuple[Loc, str]], env_map: dict[int, int | None]
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


def _written(document: Any, loc: Loc) -> bool:
    """True when every part of ``loc`` is in the document (the user wrote that field)."""
    return _reach(document, loc)[2] == len(loc)


def _reach(document: Any, loc: Loc) -> tuple[int, int, int]:
    """The line and column of the deepest part of ``loc`` present in the document (its composed root node),
    and how many parts are: a key's position for a mapping entry, the item's for a list entry."""
    from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

    node: Any = document
    line, column = 1, 1
    for depth, part in enumerate(loc):
        found = None
        if isinstance(node, MappingNode) and isinstance(part, str):
            found = next(
                ((k.start_mark, v) for k, v in node.value if isinstance(k, ScalarNode) and k.value == part), None
            )
        elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            found = (node.value[part].start_mark, node.value[part])
        if found is None:
            return line, column, depth
        mark, node = found
        line, column = mark.line + 1, mark.column + 1
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
