"""Reading a workspace straight from a git commit, without a checkout.

Two git processes whatever the size of the monorepo: ``git ls-tree`` lists the project folders and
one ``git cat-file --batch`` reads every package.json, Dockerfile and language marker in them.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from shipyard.gitflow.git import GitError
from shipyard.workspace.discovery import LANGUAGE_MARKERS, Candidate, build_workspace
from shipyard.workspace.model import ProjectKind, Workspace

_FOLDERS = (("packages", ProjectKind.package), ("services", ProjectKind.service))


def _git(root: Path, args: Sequence[str], data: bytes | None = None) -> bytes:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    proc = subprocess.run(["git", "-C", str(root), *args], input=data, capture_output=True, env=env, check=False)
    if proc.returncode != 0:
        raise GitError(args, proc.returncode, proc.stderr.decode("utf-8", "replace"))
    return proc.stdout


def read_blobs(root: Path, specs: Sequence[str]) -> dict[str, bytes | None]:
    """The contents of many ``<commit>:<path>`` objects in one ``git cat-file --batch``; None when absent."""
    wanted = [s for s in specs if "\n" not in s]
    if not wanted:
        return {}
    out = _git(root, ["cat-file", "--batch"], ("\n".join(wanted) + "\n").encode())
    found: dict[str, bytes | None] = {}
    position = 0
    for spec in wanted:
        end = out.index(b"\n", position)
        header = out[position:end].split(b" ")
        position = end + 1
        if len(header) == 3 and header[1] == b"blob":
            size = int(header[2])
            found[spec] = out[position : position + size]
            position += size + 1
        elif len(header) == 3:  # a tree or another object where a file was expected
            position += int(header[2]) + 1
            found[spec] = None
        else:  # "<spec> missing" or "<spec> ambiguous"
            found[spec] = None
    return found


def workspace_at(root: Path, commit: str, prefix: str = "") -> Workspace:
    """The workspace as it is in ``commit``: the same rules as discovery on disk.

    ``prefix`` is the workspace root's path inside the repository ("" at the top, else ending in "/").
    """
    listing = _git(root, ["ls-tree", "-z", commit, "--", *(f"{folder}/" for folder, _ in _FOLDERS)])
    folders: list[tuple[ProjectKind, str]] = []
    for record in listing.split(b"\0"):
        meta, _, path = record.partition(b"\t")
        fields = meta.split(b" ")
        if len(fields) != 3 or fields[1] != b"tree":
            continue
        top, _, name = path.decode("utf-8", "surrogateescape").partition("/")
        kind = dict(_FOLDERS).get(top)
        if kind is not None and name and "\n" not in name and not name.startswith("."):
            folders.append((kind, name))

    def spec(kind: ProjectKind, name: str, file: str) -> str:
        folder = "services" if kind is ProjectKind.service else "packages"
        return f"{commit}:{prefix}{folder}/{name}/{file}"

    files = ("package.json", "Dockerfile", *LANGUAGE_MARKERS)
    blobs = read_blobs(root, [spec(kind, name, f) for kind, name in folders for f in files])

    def text(kind: ProjectKind, name: str, file: str) -> str | None:
        blob = blobs.get(spec(kind, name, file))
        return None if blob is None else blob.decode("utf-8", "replace")

    candidates = [
        Candidate(
            kind=kind,
            name=name,
            manifest=text(kind, name, "package.json"),
            dockerfile=text(kind, name, "Dockerfile") if kind is ProjectKind.service else None,
            markers=frozenset(m for m in LANGUAGE_MARKERS if blobs.get(spec(kind, name, m)) is not None),
        )
        for kind, name in folders
    ]
    return build_workspace(root, candidates)
