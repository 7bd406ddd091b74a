"""GitHub webhook bodies for what happened in a repository on this machine: a push, or a pull request opened,
updated or closed. They carry the fields GitHub sends that the rendered triggers filter on and bind (the route
table's params), so a change made here runs through ``ci run`` exactly as GitHub's delivery of it would."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.errors import ShipyardError
from shipyard.git import Git

ZERO = "0" * 40  # GitHub's "before" of a branch's first push
# GitHub lists at most this many commits in a push payload.
MAX_PUSH_COMMITS = 2048


@dataclass(frozen=True)
class Repository:
    """The repository a webhook comes from: ``owner/name`` and the URL a pipeline clones."""

    full_name: str
    clone_url: str

    def to_json(self) -> dict[str, Any]:
        """The ``repository`` object of a payload (the fields the triggers read)."""
        owner, _, name = self.full_name.partition("/")
        return {"full_name": self.full_name, "name": name, "owner": {"login": owner}, "clone_url": self.clone_url}


def push_event(git: Git, repository: Repository, ref: str, before: str, after: str) -> dict[str, Any]:
    """A ``push`` body for ``ref`` moving from ``before`` (``ZERO`` for a new branch) to ``after`` in ``git``
    (the repository pushed to, with the push done).

    Its ``commits`` list the commits ``before..after`` (at most the last 2048, as GitHub does), oldest first,
    each with the files it added, modified and removed: the package pipeline's filter reads them. A new
    branch lists, as GitHub does, only the commits no other branch or tag of the repository holds.
    """
    if not ref.startswith(("refs/heads/", "refs/tags/")):
        raise ShipyardError(f"push ref {ref!r}: expected refs/heads/<branch> or refs/tags/<tag>")
    after = git.rev_parse(after)
    span = [after, "--not", f"--exclude={ref}", "--all"] if before == ZERO else [f"{git.rev_parse(before)}..{after}"]
    ids = git.run("rev-list", "--reverse", "--topo-order", *span).split()[-MAX_PUSH_COMMITS:]
    commits = [_commit(git, commit) for commit in ids]
    return {
        "ref": ref,
        "before": before if before == ZERO else git.rev_parse(before),
        "after": after,
        "created": before == ZERO,
        "deleted": False,
        "forced": False,
        "commits": commits,
        "head_commit": commits[-1] if commits else None,
        "pusher": {"name": "shipyard"},
        "repository": repository.to_json(),
    }


def _commit(git: Git, commit: str) -> dict[str, Any]:
    # --no-renames: GitHub lists a renamed file as removed and added.
    out = git.run("show", "--no-renames", "--format=%B%x00", "--name-status", "--diff-merges=first-parent", commit)
    message, _, names = out.partition("\0")
    files: dict[str, list[str]] = {"added": [], "modified": [], "removed": []}
    for line in names.splitlines():
        status, _, path = line.partition("\t")
        key = {"A": "added", "D": "removed"}.get(status[:1], "modified")
        if path:
            files[key].append(path)
    return {"id": commit, "message": message.strip(), "distinct": True, **files}


def pull_request_event(
    repository: Repository,
    action: str,
    number: int,
    head_sha: str,
    head_ref: str,
    base_ref: str,
    *,
    head_repository: Repository | None = None,
    merged: bool = False,
) -> dict[str, Any]:
    """A ``pull_request`` body: ``action`` (opened, synchronize, reopened, closed) on pull request ``number``.

    ``head_repository`` is the fork the branch lives in; by default the branch is in ``repository`` itself.
    """
    head = head_repository or repository
    return {
        "action": action,
        "number": number,
        "pull_request": {
            "number": number,
            "state": "closed" if action == "closed" else "open",
            "merged": merged,
            "head": {"ref": head_ref, "sha": head_sha, "repo": head.to_json()},
            "base": {"ref": base_ref, "repo": repository.to_json()},
        },
        "repository": repository.to_json(),
    }


def local_repository(path: Path, full_name: str) -> Repository:
    """A repository on this machine (a bare remote, usually) as a webhook would name it."""
    return Repository(full_name=full_name, clone_url=str(path.resolve()))
