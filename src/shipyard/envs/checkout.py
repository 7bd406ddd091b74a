"""Working with the GitOps config repo: where it is, a scratch clone to change it in, its ledger.

The config repo is a URL or a path (the embedded default is the bare repository
``.shipyard/gitops-config.git`` beside ``shipyard.yaml``). Every change is made in a throw-away clone and
pushed, so the same code works against a local bare repo and a hosted one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from shipyard.envs.configrepo import BRANCH, REMOTE, config_for_reading, resolve_config_repo
from shipyard.envs.ledger import Ledger
from shipyard.envs.tags import StoreTags
from shipyard.errors import ShipyardError
from shipyard.gitflow.git import Git, PushRejected, temporary_clone
from shipyard.spec.model import Platform


@dataclass(frozen=True)
class Context:
    """What the promotion commands need: the platform, its root, the config repo and the registry's tags."""

    platform: Platform
    root: Path
    config_repo: str
    tags: StoreTags


def load_context(start: Path, config_repo: str | None) -> Context:
    """Find ``shipyard.yaml`` at or above ``start`` and resolve the config repo and the tag lookup
    (the registry of ``shipyard.yaml``, whatever its kind; nothing is opened until a tag is asked for)."""
    from shipyard.registry.stores import Stores
    from shipyard.spec.loader import load_spec
    from shipyard.spec.locate import find_spec

    spec = find_spec(start)
    platform = load_spec(spec)
    root = spec.parent
    return Context(
        platform=platform,
        root=root,
        config_repo=resolve_config_repo(platform, root, config_repo),
        tags=StoreTags(Stores.for_platform(platform, root)),
    )


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
    """Give a brand-new config repo its ``main`` branch, so promotions have a tip to build on."""
    if git.remote_has_branch(REMOTE, BRANCH):
        return
    git.run("checkout", "--quiet", "--orphan", BRANCH)
    (git.path / "README.md").write_text(
        "# GitOps config\n\nWritten by Shipyard: `shipyard render` writes the manifests, promotions edit\n"
        "`overlays/<env>/kustomization.yaml`, and `freight/` records what can be promoted.\n",
        encoding="utf-8",
    )
    git.commit("Start the GitOps config repo")
    with contextlib.suppress(PushRejected):  # another writer created it first: theirs is as good
        git.push(REMOTE, [f"HEAD:refs/heads/{BRANCH}"])


def read_ledger(url: str) -> Ledger:
    """The ledger of the config repo: read in place for a local repo, from a bare partial clone otherwise."""
    with config_for_reading(url) as (git, ref):
        return Ledger.read(git, ref)
