"""Finding the workspace root: the nearest folder holding ``shipyard.yaml``. No heavy imports."""

from __future__ import annotations

from pathlib import Path

SPEC_FILENAME = "shipyard.yaml"


def find_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` that holds ``shipyard.yaml``, or None."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / SPEC_FILENAME).is_file():
            return folder
    return None
