"""Real parts the tests need (binaries, services, the shared reference folder).

Outside CI a missing part skips the test and says why; with CI=true it fails, because CI must
prove the real thing works and `make test` is responsible for installing it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
REPO_ROOT = Path(__file__).resolve().parents[1]
# A worktree's parent is not the main checkout's, so the folder can be named explicitly.
REFERENCE = Path(os.environ.get("SHIPYARD_REFERENCE") or REPO_ROOT.parent / "shared" / "reference")


def missing(what: str, why: str) -> None:
    """Skip (outside CI) or fail (in CI) because ``what`` is not available."""
    message = f"{what} is not available: {why}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: a missing real part is a failure; `make test` should install it)")
    pytest.skip(message)


def need_binary(name: str, hint: str = "") -> str:
    """The path of an executable, or skip/fail when it is not installed."""
    found = shutil.which(name)
    if found is None:
        missing(f"the '{name}' command", hint or "install it with `make test-deps`")
        raise AssertionError("unreachable")
    return found


def need_reference(*parts: str) -> Path:
    """A path under ``../shared/reference/``, or skip/fail when it is absent."""
    path = REFERENCE.joinpath(*parts)
    if not path.exists():
        missing(str(path), "the shared reference folder is laid beside the checkout")
    return path
