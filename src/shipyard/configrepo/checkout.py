"""Changing the GitOps config repo: a scratch clone to work in, a checkout for ``render --out``, and the one
commit-and-push every writer uses.

The config repo is a URL or a path (the embedded default is the bare repository
``.shipyard/gitops-config.git`` beside ``shipyard.yaml``). Every change is made in a clone and pushed, so
the same code works against a local bare repo and a hosted one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from shipyard.configrepo.location import BRANCH, REMOTE
from shipyard.errors import ShipyardError
from shipyard.git import Git, PushRejected, Trailers, change_branch, temporary_clone


@contextlib.contextmanager
def scratch_clone(url: str, *, start: bool = True) -> Iterator[Path]:
    """A fresh clone of the config repo, removed afterwards. An empty repo gets its first commit, or with
    ``start`` off is refused (what needs rendered files cannot begin from nothing)."""
    with temporary_clone(url) as checkout:
        git = Git(checkout)
        if start:
            ensure_branch(git)
        elif not git.has_ref(f"refs/remotes/{REMOTE}/{BRANCH}"):
            raise ShipyardError(f"the config repo {url} has no {BRANCH} branch yet", hint="run `shipyard render` first")
        yield checkout


def ensure_branch(git: Git) -> None:
    """Give a brand-new config repo its branch, so promotions have a tip to build on."""
    if git.remote_has_branch(REMOTE, BRANCH):
        return
    git.run("checkout", "--quiet", "--orphan", BRANCH)
    (git.path / "README.md").write_text(
        "# GitOps config\n\nWritten by Shipyard: `shipyard render` writes the manifests, promotions edit\n"
        "`overlays/<env>/images/kustomization.yaml`, and `freight/` records what can be promoted.\n",
        encoding="utf-8",
    )
    git.commit("Start the GitOps config repo")
    with contextlib.suppress(PushRejected):  # another writer created it first: theirs is as good
        git.push(REMOTE, [f"HEAD:refs/heads/{BRANCH}"])


def ensure_checkout(remote: Path, checkout: Path) -> None:
    """Clone the (possibly empty) config repo into ``checkout`` unless it is already a clone of it."""
    if (checkout / ".git").exists():
        return
    if checkout.exists() and any(checkout.iterdir()):
        raise ShipyardError(f"{checkout} exists and is not a git checkout", hint="pass --out to another folder")
    checkout.parent.mkdir(parents=True, exist_ok=True)
    Git(checkout.parent).run("clone", "--quiet", str(remote.resolve()), str(checkout))


def publish(
    checkout: Path, apply: Callable[[Path], str | None], trailers: Trailers = (), *, allow_empty: bool = False
) -> str | None:
    """Apply a change to the config repo's branch in ``checkout`` and push it: the pushed commit, or None
    when ``apply`` found nothing to change. ``apply`` edits the work tree (reset to the newest tip) and
    returns the commit message; on a lost race it runs again on the new tip (see ``change_branch``).
    ``allow_empty`` commits even an unchanged tree (a decision that lives in the commit message only)."""
    return change_branch(checkout, REMOTE, BRANCH, apply, trailers, allow_empty=allow_empty)
