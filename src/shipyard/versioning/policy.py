"""The versioning policy of a workspace (tag prefix, bump policy) from its shipyard.yaml, if any."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from shipyard.spec.locate import SPEC_FILENAME, find_root


def policy_for(start: Path) -> tuple[str, Literal["minor", "conventional"]]:
    """``(tag prefix, bump policy)`` from the nearest shipyard.yaml; the defaults without one."""
    root = find_root(start)
    if root is None:
        return "v", "minor"
    from shipyard.spec.loader import load_spec

    versioning = load_spec(root / SPEC_FILENAME).versioning
    return versioning.tag_prefix, versioning.bump
