"""``release tag``: put the computed version on its commit, safely against concurrent CI runs.

With a remote, each attempt fetches the remote's branches and tags (the remote's tags win over local
ones), computes the version, creates the annotated tags and pushes them in one ``--atomic`` push. A tag
that already exists on the remote makes the whole push fail, which is how a lost race shows; the
local tags are then dropped and everything is recomputed from the new state. So two commits never
share a version, a commit never gets two versions of one maturity, and a re-run after success finds
the tag in place and changes nothing.

A shallow clone (a CI checkout) fetches nothing up front: fetching every tag would bring in the
history behind each, most of the repository. The version computation lists the remote's tags and
branches with ``ls-remote`` and deepens the clone only as far as its walk needs; local tags that the
remote has on another commit are dropped first, so the remote still wins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from shipyard.errors import ShipyardError
from shipyard.git import Git, PushRejected
from shipyard.git.refname import check_revision, check_value
from shipyard.plan import Op, Plan
from shipyard.retry import TAG_RACE, GaveUp, Retrier
from shipyard.versioning.compute import VersionInfo, compute_version


@dataclass(frozen=True)
class Tagged:
    """What ``release tag`` did (or, on a dry run, would do): the version and the plan of its tags."""

    info: VersionInfo
    plan: Plan
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        """For JSON output (documented in docs/versioning.md)."""
        return {"version": self.info.to_json(), "plan": self.plan.to_json(), "dryRun": self.dry_run}


def tag_plan(info: VersionInfo, remote: str | None) -> Plan:
    """The tags to create (and push) for ``info``; empty when the commit already carries its version."""
    plan = Plan(command="release tag")
    if info.maturity == "pr":
        plan.notes.append(f"{info.version} is a pull request build tag: it is not written to git")
        return plan
    for pending in info.pending:
        plan.add(Op.tag, pending.tag, f"annotated tag on {pending.commit[:7]}", commit=pending.commit)
    if remote and plan.actions:
        plan.add(Op.push, remote, "one atomic push of the new tags", refs=[a.target for a in plan.actions])
    if info.existing:
        plan.notes.append(f"{info.commit[:7]} already carries {info.version}")
    return plan


def tag_release(
    repo: Path,
    ref: str = "HEAD",
    branch: str | None = None,
    *,
    remote: str | None = None,
    dry_run: bool = False,
    tag_prefix: str = "v",
    bump: Literal["minor", "conventional"] = "minor",
    retry: Retrier | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[VersionInfo, Plan]:
    """Tag ``ref`` with its version (and, on a release or hotfix branch, its untagged first parents).

    Returns the version and the plan that was applied (or, with ``dry_run``, would be). Lost races are
    retried under ``retry`` (default ``shipyard.retry.TAG_RACE``: 40 attempts).
    """
    check_revision(ref, "--ref")
    if remote is not None:
        check_value(remote, "--push")
    git = Git(repo)
    shallow = remote is not None and git.is_shallow()

    def attempt() -> tuple[VersionInfo, Plan]:
        if remote and shallow:
            _drop_stale_tags(git, remote, tag_prefix)
        elif remote:
            _sync(git, remote, tag_prefix)
        info = compute_version(repo, ref, branch, tag_prefix=tag_prefix, bump=bump, remote=remote)
        plan = tag_plan(info, remote)
        if dry_run or info.maturity == "pr":
            return info, plan
        if info.existing and remote:
            # The tag may exist only here (an earlier run stopped before its push): publish it. A shallow
            # clone may know it only from the remote's listing, where it is already published.
            here = any(name == f"refs/tags/{info.version}" for name, _ in git.refs(f"refs/tags/{info.version}"))
            if here or not shallow:
                git.push(remote, [f"refs/tags/{info.version}"], atomic=True)
            return info, plan
        names = [p.tag for p in info.pending]
        for pending in info.pending:
            git.tag(pending.tag, pending.commit, f"{pending.tag}\n\nShipyard-Source-Commit: {pending.commit}\n")
        if not remote:
            return info, plan
        try:
            git.push(remote, [f"refs/tags/{name}" for name in names], atomic=True)
        except PushRejected:
            git.delete_tags(names)
            if progress:
                progress(f"lost a race for {', '.join(names)} on {remote}; recomputing")
            raise
        return info, plan

    try:
        return (retry or Retrier(TAG_RACE)).call(attempt, on=(PushRejected,))
    except GaveUp as exc:
        raise ShipyardError(
            f"could not tag {ref} on {remote} after {exc.attempts} attempts: other runs kept winning",
            hint="run the command again; no tag was half-pushed",
        ) from exc


def _sync(git: Git, remote: str, prefix: str) -> None:
    # Remote tags overwrite local ones of the same name: the remote is the record of which commit owns
    # a version. Local-only tags stay (and are pushed if they are this commit's).
    git.run(
        "fetch",
        "--quiet",
        "--no-tags",
        "--",
        remote,
        f"+refs/heads/*:refs/remotes/{remote}/*",
        f"+refs/tags/{prefix}*:refs/tags/{prefix}*",
    )


def _drop_stale_tags(git: Git, remote: str, prefix: str) -> None:
    # Without a fetch, a local tag would win over the remote's one of the same name; drop the local one
    # where they differ (what the fetch of a full clone does by overwriting it).
    on_remote = dict(git.remote_refs(remote, f"refs/tags/{prefix}*"))
    stale = [name[10:] for name, commit in git.refs(f"refs/tags/{prefix}") if on_remote.get(name, commit) != commit]
    git.delete_tags(stale)
