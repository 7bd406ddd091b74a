"""Small typed views of the spec for hot commands, read back from the cache by the spec's content.

Importing pydantic and building the Platform model takes more time than ``affected`` spends on a
2,000-project monorepo. A view holds the few settings a hot command needs. It is derived from the
validated Platform the first time a spec's content is seen, and read back from the cache after that:
every value still comes from a spec the one model accepted.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self, TypeVar

from shipyard.cache import Cache, code_stamp, content_key, library_stamp
from shipyard.spec.locate import read_spec

if TYPE_CHECKING:
    from shipyard.spec.model import Platform

_PACKAGE = Path(__file__).parents[1]
# The code that decides what a spec means (the model, its loader, every Shipyard module they import)
# and the code that keys and stores views. Editing any of them invalidates every view; a unit test
# checks the list against what loading a spec really imports.
MEANING = tuple(
    str(_PACKAGE / name)
    for name in (
        "__init__.py",
        "errors.py",
        "cache.py",
        "dburl.py",
        "times.py",
        "bounded.py",
        "redact.py",
        "k8s/__init__.py",
        "k8s/base.py",
        "k8s/argocd.py",
        "spec/__init__.py",
        "spec/locate.py",
        "spec/duration.py",
        "spec/urls.py",
        "spec/template.py",
        "spec/cron.py",
        "spec/base.py",
        "spec/approvals.py",
        "spec/model.py",
        "spec/loader.py",
        "spec/views.py",
    )
)
# The libraries that decide it, as (top-level module, distribution): validation and the YAML reader.
# The same unit test checks that loading a spec imports no other library.
LIBRARIES = (
    ("pydantic", "pydantic"),
    ("pydantic_core", "pydantic-core"),
    ("typing_extensions", "typing-extensions"),
    ("typing_inspection", "typing-inspection"),
    ("annotated_types", "annotated-types"),
    ("ruamel", "ruamel.yaml"),
)


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


def view_key(view: type[SpecView], spec: bytes) -> str | None:
    """The cache key of ``view`` of a spec holding ``spec``: its bytes, the code of ``MEANING`` and of
    the view's own module, the interpreter and the ``LIBRARIES``' versions. None when a library's
    version cannot be told, and then the view is not cached."""
    libraries = library_stamp(*LIBRARIES)
    module = getattr(sys.modules.get(view.__module__), "__file__", None)
    if libraries is None or module is None:
        return None
    return content_key(f"{code_stamp(*MEANING, module)}|{libraries}", [view.kind.encode(), spec])


def start_view(path: Path, view: type[V], cache: Cache, *, beside: bool = True) -> Callable[[], V]:
    """Start getting ``view`` of the spec at ``path``; call the returned function for it (a SpecError
    is raised there). The cache answers when the same content was validated before by the same code
    and libraries (see ``view_key``).

    On a miss with ``beside``, a forked child process validates the spec and writes the cache while
    this process goes on (reading git, say); the returned function waits for the child, then reads
    the cache. Validating a spec is pure Python (pydantic), so a thread would wait for the
    interpreter; a child uses another core. When the child could not help (an invalid spec, an
    unwritable cache), this process validates the spec itself and reports any error.
    """
    data, text = read_spec(path)
    key = view_key(view, data)
    found = cache.read(view.kind, key, view.from_json) if key is not None else None
    if found is not None:
        return lambda: found

    def derive() -> V:
        from shipyard.spec.loader import parse_spec

        derived = view.from_platform(parse_spec(text, str(path)))
        if key is not None:
            cache.put(view.kind, key, derived.to_json())
        return derived

    if not (beside and key is not None and cache.folder is not None and hasattr(os, "fork")):
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
