"""A small on-disk cache of data derived from content, keyed by that content.

Hot commands (``affected`` runs on every CI event and every local check) derive the same things
again and again from inputs that rarely change: a few settings from ``shipyard.yaml``, the project
graph from the ``services/`` and ``packages/`` trees of a commit. The cache keeps what was derived,
keyed by a hash of the exact input bytes and of the code that derived it, so an entry is never
stale: a changed input or a changed Shipyard is a different key.

Entries live in ``<git common dir>/shipyard/cache/<kind>/<key>.json``: git ignores them, every
worktree of a clone shares them, and deleting the clone deletes them. A missing, unreadable or
corrupt entry is a miss; a cache that cannot be written (a read-only clone) is silently skipped, so
the cache changes how fast an answer comes, never what it is. ``Cache(None)`` holds nothing: what a
command's ``--no-cache`` asks for.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from shipyard import __version__

# Entries kept per kind; older ones are removed when a new one is written.
KEEP = 16
T = TypeVar("T")


def code_stamp(*modules: str) -> str:
    """A stamp of the code that derives cached data: Shipyard's version and each source file's size
    and modification time, so an edited checkout of Shipyard never reads what older code wrote."""
    parts = [__version__]
    for module in modules:
        try:
            info = Path(module).stat()
        except OSError:
            parts.append(f"{module}:?")
        else:
            parts.append(f"{Path(module).name}:{info.st_size}:{info.st_mtime_ns}")
    return "|".join(parts)


def library_stamp(*libraries: tuple[str, str]) -> str | None:
    """A stamp of the interpreter and of installed libraries, each given as (top-level module,
    distribution): the name of the distribution's metadata folder (``pydantic-2.14.4.dist-info``)
    beside the folder the module is imported from. None when a library's metadata folder is not
    found there: then nothing derived with it may be cached.

    ``importlib.metadata`` would take 50 to 150 ms to answer (it reads every installed
    distribution's metadata); finding the module imports nothing and lists one folder.
    """
    parts = [sys.version]
    listings: dict[Path, list[str]] = {}
    for module, distribution in libraries:
        try:
            found = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            found = None
        if found is None:
            return None
        places = list(found.submodule_search_locations or ()) or ([found.origin] if found.origin else [])
        wanted = _normal_name(distribution)
        names = sorted(
            name
            for folder in {Path(place).parent for place in places}
            for name in _listing(folder, listings)
            if name.endswith((".dist-info", ".egg-info")) and _normal_name(name.split("-", 1)[0]) == wanted
        )
        if not names:
            return None
        parts.extend(names)
    return "|".join(parts)


def _normal_name(name: str) -> str:
    # Metadata folders spell a distribution's name in several ways: ruamel.yaml, ruamel_yaml, Ruamel-Yaml.
    return name.lower().replace("-", "_").replace(".", "_")


def _listing(folder: Path, listings: dict[Path, list[str]]) -> list[str]:
    if folder not in listings:
        try:
            listings[folder] = [entry.name for entry in folder.iterdir()]
        except OSError:
            listings[folder] = []
    return listings[folder]


def content_key(stamp: str, chunks: Iterable[bytes]) -> str:
    """The key of data derived by the code ``stamp`` names from ``chunks``."""
    digest = hashlib.sha256(stamp.encode())
    for chunk in chunks:
        digest.update(len(chunk).to_bytes(8, "big"))
        digest.update(chunk)
    return digest.hexdigest()


class Cache:
    """Derived data by kind and key; ``folder`` None (no git repository, or turned off) caches nothing."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    @classmethod
    def for_repository(cls, root: Path) -> Cache:
        """The cache of the git repository holding ``root`` (none outside a repository)."""
        plain = _plain_git_dir(root.resolve())
        if plain is not None:
            return cls(plain / "shipyard" / "cache")
        from shipyard.git import Git

        found = Git(root).run("rev-parse", "--path-format=absolute", "--git-common-dir", check=False).strip()
        return cls(Path(found) / "shipyard" / "cache" if found else None)

    def get(self, kind: str, key: str) -> Any:
        """The stored value, or None when there is none (or it cannot be read)."""
        if self.folder is None:
            return None
        try:
            return json.loads((self.folder / kind / f"{key}.json").read_bytes())
        except (OSError, ValueError):
            return None

    def read(self, kind: str, key: str, parse: Callable[[Any], T]) -> T | None:
        """``parse`` of the stored value; None when there is none, or when ``parse`` rejects it (KeyError,
        TypeError or ValueError: an entry of another shape, which the caller derives again)."""
        stored = self.get(kind, key)
        if stored is None:
            return None
        try:
            return parse(stored)
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, kind: str, key: str, value: Any) -> None:
        """Store ``value`` (JSON data) atomically, then keep only the newest ``KEEP`` entries of ``kind``."""
        if self.folder is None:
            return
        folder = self.folder / kind
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=folder, prefix="tmp-", suffix=".part")
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(json.dumps(value, separators=(",", ":")).encode())
                Path(temporary).replace(folder / f"{key}.json")
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
            self._prune(folder)
        except OSError:
            return

    @staticmethod
    def _prune(folder: Path) -> None:
        entries = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for stale in entries[KEEP:]:
            stale.unlink(missing_ok=True)


# Variables that change where git looks for the repository; with any of them set, git is asked.
_GIT_LOCATION_VARIABLES = ("GIT_DIR", "GIT_COMMON_DIR", "GIT_WORK_TREE", "GIT_CEILING_DIRECTORIES")


def _plain_git_dir(root: Path) -> Path | None:
    """The ``.git`` folder of an ordinary clone holding ``root``, found without starting git (the cold
    start of a git process is a measurable part of a hot command); None when git must be asked
    (a worktree's or submodule's ``.git`` file, or an environment that moves the repository)."""
    if any(name in os.environ for name in _GIT_LOCATION_VARIABLES):
        return None
    for folder in (root, *root.parents):
        dot_git = folder / ".git"
        if dot_git.is_dir():
            return dot_git
        if dot_git.exists():
            return None
    return None
