"""Reading input from outside within bounds: a file or a body of at most N bytes, and JSON and YAML parsed
with limits on nesting depth and on alias expansion.

Every parser of something Shipyard did not write itself goes through here, so hostile input (an alias
bomb, ten thousand nested brackets, ``/dev/zero`` as a file) is refused in bounded time and memory with
one clear line, never a RecursionError, a MemoryError or a run that does not end. The limits are the ones
``docs/security.md`` lists.

YAML is composed by a composer that counts, for every node, how many nodes it stands for once every
alias is expanded; the count of an alias is the count of its anchor, so a bomb is refused from its
first few lines without being expanded. A recursive alias (a node that contains itself) is refused too:
whoever walks such data never ends.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from shipyard.errors import ShipyardError

KIB = 1024
MIB = 1024 * KIB

MAX_DEPTH = 100
"""How deeply JSON and YAML may nest. Kubernetes objects and webhook payloads stay far below it."""
MAX_NODES = 1_000_000
"""How many values a YAML stream may stand for with every alias expanded."""

MAX_FILE = 16 * MIB
"""The default size limit of a file read from outside."""
MAX_BODY = 16 * MIB
"""The size limit of an HTTP response body (a JSON answer of an API, a page of a listing)."""
MAX_MANIFEST = 4 * MIB
"""The size limit of an image manifest: what registries accept (the distribution spec's 4 MiB)."""


class InputError(ShipyardError):
    """Input that cannot be read within the bounds, or cannot be parsed; the message names it."""


class TooLarge(InputError):
    """Input over its size limit."""


class TooComplex(InputError):
    """Input that nests too deeply, or whose aliases stand for too many values; ``line`` (1-based) and
    ``reason`` let a caller place the problem in its own terms."""

    def __init__(self, message: str, *, line: int | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.reason = reason or message


def _human(size: int) -> str:
    for unit, scale in (("MiB", MIB), ("KiB", KIB)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} bytes"


def check_size(size: int, limit: int, what: str) -> None:
    """Raise TooLarge when ``size`` bytes are over ``limit``."""
    if size > limit:
        raise TooLarge(f"{what} is larger than {_human(limit)}: refused")


def read_bytes(path: Path, limit: int, what: str | None = None) -> bytes:
    """At most ``limit`` bytes of the file at ``path``; TooLarge when it holds more, InputError when it cannot
    be read. Never reads more than ``limit + 1`` bytes, so ``/dev/zero`` or a huge file costs nothing."""
    what = what or str(path)
    try:
        with path.open("rb") as handle:
            info = os.fstat(handle.fileno())
            if stat.S_ISDIR(info.st_mode):
                raise InputError(f"{what}: is a folder, not a file")
            if stat.S_ISREG(info.st_mode):
                check_size(info.st_size, limit, what)
            data = handle.read(limit + 1)
    except IsADirectoryError:
        raise InputError(f"{what}: is a folder, not a file") from None
    except OSError as exc:
        raise InputError(f"{what}: cannot read ({exc.strerror or type(exc).__name__})") from None
    check_size(len(data), limit, what)
    return data


def decode_text(data: bytes, what: str) -> str:
    """``data`` as UTF-8 text; InputError naming the line of the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"{what}: line {line}: not UTF-8 text") from None


def read_text(path: Path, limit: int = MAX_FILE, what: str | None = None) -> str:
    """The UTF-8 text of the file at ``path``, at most ``limit`` bytes of it (see ``read_bytes``)."""
    what = what or str(path)
    return decode_text(read_bytes(path, limit, what), what)


def read_chunks(chunks: Any, limit: int, what: str) -> bytes:
    """The bytes of an iterable of chunks (a streamed HTTP body), refused once they pass ``limit``."""
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        check_size(size, limit, what)
        parts.append(chunk)
    return b"".join(parts)


# JSON


def check_depth(data: Any, max_depth: int, what: str) -> None:
    """Raise TooComplex when decoded data nests deeper than ``max_depth`` (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > max_depth:
            raise TooComplex(f"{what} nests deeper than {max_depth} levels: refused")
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def parse_json(data: bytes | str, what: str, *, limit: int = MAX_FILE, max_depth: int = MAX_DEPTH) -> Any:
    """Decoded JSON of at most ``limit`` bytes nesting at most ``max_depth`` levels; InputError otherwise."""
    check_size(len(data), limit, what)
    try:
        decoded = json.loads(data)
    except RecursionError:
        raise TooComplex(f"{what} nests deeper than {max_depth} levels: refused") from None
    except UnicodeDecodeError:
        raise InputError(f"{what}: not UTF-8 text") from None
    except ValueError as exc:  # JSONDecodeError, and ints over Python's digit limit
        raise InputError(f"{what}: not valid JSON ({str(exc).splitlines()[0]})") from None
    check_depth(decoded, max_depth, what)
    return decoded


def read_json(path: Path, limit: int = MAX_FILE, what: str | None = None, *, max_depth: int = MAX_DEPTH) -> Any:
    """The decoded JSON of a file, within ``limit`` bytes and ``max_depth`` levels."""
    what = what or str(path)
    return parse_json(read_bytes(path, limit, what), what, limit=limit, max_depth=max_depth)


# YAML


class NodeBudget:
    """The counting a bounded YAML composer does: nesting depth, and every node's size with aliases expanded.

    A composer calls ``enter`` before a node, ``leave`` with the node composed, and ``alias`` with the node
    an alias points to. It works on PyYAML's and ruamel's nodes alike (``value`` is a scalar, a list of
    nodes, or a list of key and value node pairs).
    """

    def __init__(self, what: str, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> None:
        self.what = what
        self.max_depth = max_depth
        self.max_nodes = max_nodes
        self.depth = 0
        self.total = 0
        self._sizes: dict[int, int] = {}

    def _refuse(self, mark: Any, reason: str) -> TooComplex:
        line = getattr(mark, "line", None)
        line = line + 1 if isinstance(line, int) else None
        where = f"{self.what}: line {line}" if line is not None else self.what
        return TooComplex(f"{where}: {reason}", line=line, reason=reason)

    def enter(self, mark: Any, collection: bool = True) -> None:
        """A node starts at ``mark``: refuse a collection one level too deep (as JSON counts, a scalar adds
        no level)."""
        self.depth += 1
        if collection and self.depth > self.max_depth:
            raise self._refuse(mark, f"nests deeper than {self.max_depth} levels: refused")

    def alias(self, target: Any, mark: Any) -> None:
        """An alias at ``mark`` to ``target``: refuse it when ``target`` is not complete (it contains the alias)."""
        if id(target) not in self._sizes:
            raise self._refuse(mark, "an alias refers to a node that contains it: refused")

    def leave(self, node: Any) -> None:
        """``node`` is composed: count it, its children counted as often as they appear."""
        self.depth -= 1
        value = node.value
        size = 1
        if isinstance(value, list):
            sizes = self._sizes
            for child in value:
                if isinstance(child, tuple):
                    size += sizes[id(child[0])] + sizes[id(child[1])]
                else:
                    size += sizes[id(child)]
        self._sizes[id(node)] = size
        if size > self.max_nodes:
            reason = f"stands for more than {self.max_nodes} values once its aliases are expanded: refused"
            raise self._refuse(node.start_mark, reason)

    def document(self, root: Any) -> None:
        """A whole document is composed: count it against the stream's total."""
        self.total += self._sizes.get(id(root), 1)
        if self.total > self.max_nodes:
            raise TooComplex(f"{self.what} stands for more than {self.max_nodes} values: refused")


def _loader_class() -> type:
    """A safe PyYAML loader (libyaml's parser when present) whose composer keeps a NodeBudget."""
    from yaml.composer import Composer
    from yaml.constructor import SafeConstructor
    from yaml.events import AliasEvent, ScalarEvent
    from yaml.resolver import Resolver

    class BoundedComposer(Composer):
        budget: NodeBudget

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(AliasEvent):  # type: ignore[attr-defined]
                event = self.peek_event()  # type: ignore[attr-defined]
                target = self.anchors.get(event.anchor)
                if target is not None:
                    self.budget.alias(target, event.start_mark)
                return super().compose_node(parent, index)
            collection = not self.check_event(ScalarEvent)  # type: ignore[attr-defined]
            self.budget.enter(self.peek_event().start_mark, collection)  # type: ignore[attr-defined]
            node = super().compose_node(parent, index)
            self.budget.leave(node)
            return node

    try:
        from yaml._yaml import CParser

        class CLoader(BoundedComposer, CParser, SafeConstructor, Resolver):
            def __init__(self, stream: str, budget: NodeBudget) -> None:
                CParser.__init__(self, stream)
                BoundedComposer.__init__(self)
                SafeConstructor.__init__(self)
                Resolver.__init__(self)
                self.budget = budget

        return CLoader
    except ImportError:  # pragma: no cover - PyYAML built without libyaml
        from yaml.parser import Parser
        from yaml.reader import Reader
        from yaml.scanner import Scanner

        class PyLoader(Reader, Scanner, Parser, BoundedComposer, SafeConstructor, Resolver):
            def __init__(self, stream: str, budget: NodeBudget) -> None:
                Reader.__init__(self, stream)
                Scanner.__init__(self)
                Parser.__init__(self)
                BoundedComposer.__init__(self)
                SafeConstructor.__init__(self)
                Resolver.__init__(self)
                self.budget = budget

        return PyLoader


_LOADER: type | None = None


def load_yaml_all(
    text: str, what: str, *, limit: int = MAX_FILE, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES
) -> list[Any]:
    """Every document of a YAML stream (empty ones skipped), with YAML's safe types only.

    InputError when the text is over ``limit`` bytes or is not YAML; TooComplex when it nests deeper
    than ``max_depth`` or stands for more than ``max_nodes`` values with its aliases expanded.
    """
    import yaml

    global _LOADER
    if len(text) * 4 > limit:  # a character is at most 4 bytes: count the bytes only when it can matter
        check_size(len(text.encode("utf-8", "surrogatepass")), limit, what)
    if _LOADER is None:
        _LOADER = _loader_class()
    budget = NodeBudget(what, max_depth, max_nodes)
    loader = _LOADER(text, budget)
    documents: list[Any] = []
    try:
        while loader.check_node():
            root = loader.get_node()
            budget.document(root)
            data = loader.construct_document(root)
            if data is not None:
                documents.append(data)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{what}: line {mark.line + 1}" if mark is not None else what
        raise InputError(f"{where}: not valid YAML ({exc.problem or exc.context})") from None
    except yaml.YAMLError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{what}: not valid YAML ({reason})") from None
    except RecursionError:  # a constructor's own recursion (merge keys); the depth limit keeps it rare
        raise TooComplex(f"{what} nests too deeply: refused") from None
    finally:
        loader.dispose()
    return documents


def load_yaml(
    text: str, what: str, *, limit: int = MAX_FILE, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES
) -> Any:
    """The one document of a YAML text (None when it is empty); InputError for a stream of several."""
    documents = load_yaml_all(text, what, limit=limit, max_depth=max_depth, max_nodes=max_nodes)
    if len(documents) > 1:
        raise InputError(f"{what}: holds {len(documents)} YAML documents; expected one")
    return documents[0] if documents else None


def read_yaml(
    path: Path,
    limit: int = MAX_FILE,
    what: str | None = None,
    *,
    max_depth: int = MAX_DEPTH,
    max_nodes: int = MAX_NODES,
) -> Any:
    """The one YAML document of a file, within the bounds of ``load_yaml``."""
    what = what or str(path)
    return load_yaml(read_text(path, limit, what), what, limit=limit, max_depth=max_depth, max_nodes=max_nodes)
