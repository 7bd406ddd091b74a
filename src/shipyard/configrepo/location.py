"""Which GitOps config repo a command works on: ``--config-repo``, else ``repos.config`` of the spec.

One rule for every command that changes or reads the config repo (promotions, previews, the sandbox):
a URL or an scp-like ``user@host:path`` is used as given; a path given on the command line is
relative to where the command runs, a path in the spec is relative to the spec's folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shipyard.errors import ShipyardError
from shipyard.git import Git, temporary_clone
from shipyard.spec.model import Platform

# The config repo's one branch, and the remote name its clones give the config repo.
BRANCH = "main"
REMOTE = "origin"


def is_remote(location: str) -> bool:
    """True for a URL (``scheme://``) or git's scp-like ``[user@]host:path``; False for a path on this machine.

    Git's own rule: a colon before the first slash makes it scp-like, so ``./a:b`` and ``/srv/a:b`` are paths.
    """
    if "://" in location:
        return True
    head, colon, _ = location.partition(":")
    return bool(colon) and "/" not in head and len(head) > 1  # one letter is a Windows drive, not a host


@contextmanager
def config_for_reading(url: str) -> Iterator[tuple[Git, str]]:
    """The config repo to read from and the ref of its branch: a local repository in place, otherwise a
    bare partial clone (commits and trees now, blobs only when read), removed afterwards."""
    if not is_remote(url):
        git = Git(Path(url))
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
    if is_remote(location):
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
