"""Small typed views of the spec for hot commands, read back from the cache by the spec's content.

Importing pydantic and building the Platform model takes more time than ``affected`` spends on a
2,000-project monorepo. A view holds the few settings a hot command needs. It is derived from the
validated Platform the first time a spec's content is seen, and read back from the cache after that:
every value still comes from a spec the one model accepted.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self, TypeVar

from shipyard.cache import Cache, code_stamp, content_key
from shipyard.spec.locate import read_spec

if TYPE_CHECKING:
    from shipyard.spec.model import Platform

# The files whose code decides what a spec means; editing them invalidates every view.
_MEANING = tuple(str(Path(__file__).with_name(name)) for name in ("model.py", "loader.py", "base.py", "approvals.py"))


class SpecView(Protocol):
    """A view: derived from a Platform, written as JSON, read back from JSON."""

    kind: ClassVar[str]

    @classmethod
    def from_platform(cls, platform: Platform) -> Self:
        """The view of a validated spec."""
        ...

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """The view as ``to_json`` wrote it; raises KeyError, TypeError or ValueError on other data."""
        ...

    def to_json(self) -> Any:
        """The view as JSON data."""
        ...


V = TypeVar("V", bound=SpecView)


def start_view(path: Path, view: type[V], cache: Cache, *, source: str = "", beside: bool = True) -> Callable[[], V]:
    """Start getting ``view`` of the spec at ``path``; call the returned function for it (a SpecError
    is raised there). The cache answers when this exact content (with this Shipyard, and ``source``,
    the file of the view's own code) has been validated before.

    On a miss with ``beside``, a forked child process validates the spec and writes the cache while
    this process goes on (reading git, say); the returned function waits for the child, then reads
    the cache. Validating a spec is pure Python (pydantic), so a thread would wait for the
    interpreter; a child uses another core. When the child could not help (an invalid spec, an
    unwritable cache), this process validates the spec itself and reports any error.
    """
    data, text = read_spec(path)
    key = content_key(code_stamp(*_MEANING, *((source,) if source else ())), [view.kind.encode(), data])
    found = cache.read(view.kind, key, view.from_json)
    if found is not None:
        return lambda: found

    def derive() -> V:
        from shipyard.spec.loader import parse_spec

        derived = view.from_platform(parse_spec(text, str(path)))
        cache.put(view.kind, key, derived.to_json())
        return derived

    if not (beside and cache.folder is not None and hasattr(os, "fork")):
        return derive
    child = os.fork()
    if child == 0:  # the child only fills the cache; os._exit skips the parent's cleanup and buffers
        try:
            derive()
        finally:
            os._exit(0)

    def finish() -> V:
        os.waitpid(child, 0)
        written = cache.read(view.kind, key, view.from_json)
        return written if written is not None else derive()

    return finish
