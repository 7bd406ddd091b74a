"""Changing a shared branch: a scratch clone, and apply-commit-push that re-applies on the newest tip when
another writer got there first, so concurrent writers never lose an update."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from shipyard.errors import ShipyardError
from shipyard.git.refname import check_value
from shipyard.git.repo import Git, PushRejected
from shipyard.git.trailers import Trailers
from shipyard.retry import PUSH_RACE, GaveUp, Retrier


@contextmanager
def temporary_clone(url: str, *options: str) -> Iterator[Path]:
    """A clone of ``url`` (``git clone`` with ``options``, e.g. ``--bare``) in a scratch folder, removed
    afterwards whatever happens inside."""
    scratch = Path(tempfile.mkdtemp(prefix="shipyard-clone-"))
    try:
        clone = scratch / "repo"
        check_value(url, "the repository")
        Git(scratch).run("clone", "--quiet", *options, "--", url, str(clone))
        yield clone
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def checkout_tip(git: Git, remote: str, branch: str) -> None:
    """Fetch ``branch`` of ``remote`` and reset the work tree to its newest tip, untracked files removed.

    When ``remote`` does not have ``branch`` yet (a brand-new repository), the work tree starts empty
    and the next commit starts the branch.
    """
    if git.remote_has_branch(remote, branch):
        git.run("fetch", "--quiet", "--", remote, f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}")
        git.run("checkout", "--quiet", "-B", branch, f"refs/remotes/{remote}/{branch}")
        git.run("reset", "--quiet", "--hard", f"refs/remotes/{remote}/{branch}")
    else:
        git.run("symbolic-ref", "HEAD", f"refs/heads/{branch}")
        if git.run("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False).strip():
            git.run("update-ref", "-d", f"refs/heads/{branch}")
        git.run("read-tree", "--empty")
    git.run("clean", "-fdq")


def outpushed(remote: str, branch: str, attempts: int) -> ShipyardError:
    """The error when every one of ``attempts`` pushes to ``branch`` lost the race."""
    return ShipyardError(
        f"could not push to {branch} of {remote} after {attempts} attempts: other writers kept winning",
        hint="run the command again; nothing was half-applied",
    )


def change_branch(
    checkout: Path,
    remote: str,
    branch: str,
    apply: Callable[[Path], str | None],
    trailers: Trailers = (),
    *,
    retry: Retrier | None = None,
    allow_empty: bool = False,
) -> str | None:
    """Apply a change to ``branch`` of ``remote`` and push it, retrying when another writer won the race.

    ``apply`` edits the work tree at ``checkout`` (already reset to the remote tip) and returns the
    commit message, or None when there is nothing to do. Returns the pushed commit, or None when no
    change was needed. Each retry fetches, resets to the new tip and calls ``apply`` again, so the
    change is re-derived from the newest state rather than replayed blindly. When ``remote`` does not
    have ``branch`` yet (a brand-new repository), ``apply`` starts from an empty tree and its commit
    starts the branch; if another writer starts it first, the retry applies on top of theirs. Lost races
    are retried under ``retry`` (default ``shipyard.retry.PUSH_RACE``: 20 attempts, full-jitter backoff).
    With ``allow_empty`` the commit is made even when the tree does not change: a commit that records a
    decision in its message and trailers only.
    """
    git = Git(checkout)

    def attempt() -> str | None:
        checkout_tip(git, remote, branch)
        message = apply(checkout)
        if message is None:
            return None
        commit = git.commit(message, trailers, allow_empty=allow_empty)
        if commit is None:
            return None
        git.push(remote, [f"HEAD:refs/heads/{branch}"])  # PushRejected: someone else pushed first; redo
        return commit

    try:
        return (retry or Retrier(PUSH_RACE)).call(attempt, on=(PushRejected,))
    except GaveUp as exc:
        raise outpushed(remote, branch, exc.attempts) from exc
