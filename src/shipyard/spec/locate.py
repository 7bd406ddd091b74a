"""Finding and reading ``shipyard.yaml``: the nearest folder holding it. No heavy imports, so hot
commands can find and hash the spec without loading the model."""

from __future__ import annotations

from pathlib import Path

from shipyard.bounded import MIB, InputError, read_bytes
from shipyard.errors import Location, Problem, SpecError

SPEC_FILENAME = "shipyard.yaml"
MAX_SPEC_BYTES = 1 * MIB
"""The size limit of ``shipyard.yaml``; a real platform's spec is a few KiB."""


def find_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` that holds ``shipyard.yaml``, or None."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / SPEC_FILENAME).is_file():
            return folder
    return None


def find_spec(start: Path) -> Path:
    """Find ``shipyard.yaml`` in ``start`` or the nearest parent, as git finds ``.git``."""
    root = find_root(start)
    if root is None:
        raise SpecError(
            [
                Problem(
                    Location(str(start.resolve())),
                    SPEC_FILENAME,
                    "no shipyard.yaml here or in any parent folder",
                    valid="run `shipyard init` to create one, or pass --root",
                )
            ]
        )
    return root / SPEC_FILENAME


def read_spec(path: Path) -> tuple[bytes, str]:
    """The spec file's bytes and its text; a SpecError when it cannot be read or is not UTF-8."""
    try:
        data = read_bytes(path, MAX_SPEC_BYTES, SPEC_FILENAME)
    except InputError as exc:
        reason = exc.message.removeprefix(f"{SPEC_FILENAME}: ").removeprefix(f"{SPEC_FILENAME} ")
        raise SpecError([Problem(Location(str(path)), SPEC_FILENAME, reason)]) from None
    try:
        return data, data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecError(
            [Problem(Location(str(path), line, column), "(encoding)", "not UTF-8 text", valid="save the file as UTF-8")]
        ) from exc
