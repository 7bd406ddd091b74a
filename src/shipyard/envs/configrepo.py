"""Which GitOps config repo a command works on: ``--config-repo``, else ``repos.config`` of the spec.

One rule for every command that changes or reads the config repo (promotions, previews, the sandbox):
a URL or an scp-like ``user@host:path`` is used as given; a path given on the command line is
relative to where the command runs, a path in the spec is relative to the spec's folder.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shipyard.errors import ShipyardError
from shipyard.gitflow.git import Git, temporary_clone
from shipyard.spec.model import Platform

# The config repo's one branch, and the remote name its clones give the config repo.
BRANCH = "main"
REMOTE = "origin"
_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:")


@contextmanager
def config_for_reading(url: str) -> Iterator[tuple[Git, str]]:
    """The config repo to read from and the ref of its branch: a local repository in place, otherwise a
    bare partial clone (commits and trees now, blobs only when read), removed afterwards."""
    path = Path(url)
    if "://" not in url and path.exists():
        git = Git(path)
        yield git, BRANCH if git.has_ref(BRANCH) else f"{REMOTE}/{BRANCH}"
        return
    with temporary_clone(url, "--bare", "--filter=blob:none") as mirror:
        yield Git(mirror), BRANCH


def resolve_config_repo(platform: Platform, root: Path, given: str | None) -> str:
    """The config repo's URL, or the absolute path of a local one (which must exist)."""
    location = given or platform.repos.config
    if not location:
        raise ShipyardError(
            "no config repo: shipyard.yaml has no repos.config",
            hint="set repos.config in shipyard.yaml, or pass --config-repo PATH|URL",
        )
    if "://" in location or _SCP_LIKE.match(location):
        return location
    path = Path(location)
    if not path.is_absolute():
        path = (Path.cwd() if given else root) / path
    if not path.exists():
        raise ShipyardError(
            f"config repo {path} does not exist",
            hint="run `shipyard init` for a local one, or pass --config-repo PATH|URL",
        )
    return str(path.resolve())
