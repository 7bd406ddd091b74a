"""Reading a workspace straight from a git commit, without a checkout.

Three git processes whatever the size of the monorepo (see ``workspace_at``), and one when the
project folders' trees are in the cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from shipyard.cache import Cache, code_stamp, content_key
from shipyard.git import Git
from shipyard.workspace import discovery, model
from shipyard.workspace.model import ProjectKind, Workspace

_FOLDERS = (("packages", ProjectKind.package), ("services", ProjectKind.service))
# The code that turns project folders into a workspace: editing it invalidates cached workspaces.
_BUILDERS = (__file__, discovery.__file__, model.__file__)
CACHE_KIND = "workspace"


def read_blobs(root: Path, specs: Sequence[str]) -> dict[str, bytes | None]:
    """The contents of many ``<commit>:<path>`` files in one ``git cat-file --batch``; None when absent."""
    return {
        name: (obj[1] if obj is not None and obj[0] == b"blob" else None)
        for name, obj in Git(root).read_objects(specs).items()
    }


def _tree_entries(data: bytes, oid_size: int) -> dict[str, tuple[bytes, str]]:
    """A raw tree object: name -> (mode, object id). Entries are ``<mode> <name>\\0<binary id>``."""
    entries: dict[str, tuple[bytes, str]] = {}
    position = 0
    while position < len(data):
        space = data.index(b" ", position)
        nul = data.index(b"\0", space)
        oid = data[nul + 1 : nul + 1 + oid_size].hex()
        entries[data[space + 1 : nul].decode("utf-8", "surrogateescape")] = (data[position:space], oid)
        position = nul + 1 + oid_size
    return entries


def workspace_at(root: Path, commit: str, cache: Cache | None = None) -> Workspace:
    """The workspace as it is in ``commit``: the same rules as discovery on disk.

    Three git processes: ``ls-tree`` for the project folders, then ``cat-file`` for their trees and
    ``cat-file`` for the package.json and Dockerfile blobs, all looked up by object id (looking up
    thousands of ``<commit>:<path>`` names walks the big ``packages`` tree each time and costs far more).
    The listing names every project folder's tree id, which hashes all of its content, so it is the
    key of the workspace in ``cache``: with a hit, ``ls-tree`` is the only git process.
    """
    listing = Git(root).run_bytes("ls-tree", "-z", commit, "--", *(f"{folder}/" for folder, _ in _FOLDERS))
    key = content_key(code_stamp(*_BUILDERS), [listing])
    found = cache.read(CACHE_KIND, key, lambda data: Workspace.from_json(root, data)) if cache is not None else None
    if found is not None:
        return found
    workspace = _build_from_listing(root, listing)
    if cache is not None:
        cache.put(CACHE_KIND, key, workspace.to_json())
    return workspace


def _build_from_listing(root: Path, listing: bytes) -> Workspace:
    folders: dict[str, tuple[ProjectKind, str]] = {}
    for record in listing.split(b"\0"):
        meta, _, path = record.partition(b"\t")
        fields = meta.split(b" ")
        if len(fields) != 3 or fields[1] != b"tree":
            continue
        top, _, name = path.decode("utf-8", "surrogateescape").rpartition("/")
        kind = dict(_FOLDERS).get(top.rsplit("/", 1)[-1])
        if kind is not None and name and "\n" not in name and not name.startswith("."):
            folders[fields[2].decode()] = (kind, name)
    git = Git(root)
    trees = git.read_objects(list(folders))
    wanted = ("package.json", "Dockerfile")
    contents: dict[str, dict[str, str]] = {}  # tree id -> file name -> blob id
    markers: dict[str, frozenset[str]] = {}
    for tree_id, obj in trees.items():
        entries = _tree_entries(obj[1], len(tree_id) // 2) if obj is not None else {}
        regular = {n: oid for n, (mode, oid) in entries.items() if mode.startswith(b"100") or mode == b"120000"}
        contents[tree_id] = {n: regular[n] for n in wanted if n in regular}
        markers[tree_id] = frozenset(m for m in discovery.LANGUAGE_MARKERS if m in regular)
    blobs = git.read_objects([oid for files in contents.values() for oid in files.values()])

    def text(tree_id: str, file: str) -> str | None:
        oid = contents[tree_id].get(file)
        obj = blobs.get(oid) if oid else None
        return obj[1].decode("utf-8", "replace") if obj is not None else None

    candidates = [
        discovery.Candidate(
            kind=kind,
            name=name,
            manifest=text(tree_id, "package.json"),
            dockerfile=text(tree_id, "Dockerfile") if kind is ProjectKind.service else None,
            markers=markers[tree_id],
        )
        for tree_id, (kind, name) in folders.items()
    ]
    return discovery.build_workspace(root, candidates)
