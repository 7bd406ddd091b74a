"""Config repos to break: a copy of the checked-in example, edited, then validated as `shipyard validate` does."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from tests.realparts import REPO_ROOT

GOLDEN = REPO_ROOT / "examples" / "acme" / "gitops-config"


def copy_golden(target: Path) -> Path:
    """A copy of the example config repo at ``target``."""
    shutil.copytree(GOLDEN, target)
    return target


def errors(tree: Path, schemas: Any, kubectl: str | None = None, check: str | None = None) -> list[Any]:
    """The error findings of validating ``tree`` (of one check, when named)."""
    from shipyard.k8s.validate import validate_tree

    found = [f for f in validate_tree(tree, schemas, kubectl).findings if f.severity == "error"]
    return [f for f in found if check is None or f.check == check]


def edit(path: Path, old: str, new: str) -> None:
    """Replace the first ``old`` of a file with ``new``; ``old`` must be there."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))
