"""The clean-up of the config repo: remove expired and closed previews, on git's objects alone.

A bare clone, the decisions of ``previews.gc`` over every committed ``namespace.yaml``, the ``previews``
and root trees rebuilt with ``mktree``, a push; a push that loses a race fetches the new tip and decides
again, as ``change_branch`` does. No work tree is ever written, so a run over thousands of previews is fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.configrepo.location import BRANCH, REMOTE
from shipyard.errors import ShipyardError
from shipyard.git import Git, PushRejected, format_message, temporary_clone
from shipyard.previews.gc import GcReport, plan_gc
from shipyard.previews.prstate import PrStateLookup, PrStates
from shipyard.previews.read import PREVIEWS, preview_marks, read_committed_candidates
from shipyard.retry import PUSH_RACE, GaveUp, Retrier
from shipyard.spec.model import Platform

if TYPE_CHECKING:
    from shipyard.plan.progress import Progress


@dataclass
class GcOutcome:
    """What ``preview gc`` decided, and the commit that applied it (None: nothing pushed)."""

    report: GcReport
    commit: str | None
    dry_run: bool

    def to_json(self) -> dict[str, Any]:
        """For JSON output (documented in docs/previews.md)."""
        return {**self.report.to_json(), "dryRun": self.dry_run, "commit": self.commit}


def remote_tip(clone: Path) -> str | None:
    """Fetch the config repo's branch into ``clone``; its commit, or None when the config repo has none yet."""
    git = Git(clone)
    if not git.remote_has_branch(REMOTE, BRANCH):
        return None
    git.run("fetch", "--quiet", REMOTE, f"+refs/heads/{BRANCH}:refs/remotes/{REMOTE}/{BRANCH}")
    return git.rev_parse(f"refs/remotes/{REMOTE}/{BRANCH}")


def commit_removal(clone: Path, tip: str, names: Sequence[str], message: str) -> str:
    """A commit on ``tip`` without ``previews/<name>`` for each name, built from trees alone (``mktree``).

    No index and no work tree: only the ``previews`` tree and the root tree are rewritten, so removing
    thousands of previews costs two tree writes.
    """
    git = Git(clone)
    gone = set(names)

    def entries(treeish: str) -> list[tuple[str, str]]:
        found = []
        for entry in git.run("ls-tree", "-z", treeish).split("\0"):
            if entry:
                info, _, name = entry.partition("\t")
                found.append((info, name))
        return found

    kept = [(info, name) for info, name in entries(f"{tip}:{PREVIEWS}") if name not in gone]
    previews = git.run("mktree", "-z", input="".join(f"{info}\t{name}\0" for info, name in kept)).strip()
    root = [(info, name) for info, name in entries(tip) if name != PREVIEWS]
    if kept:
        root.append((f"040000 tree {previews}", PREVIEWS))
    tree = git.run("mktree", "-z", input="".join(f"{info}\t{name}\0" for info, name in root)).strip()
    return git.run("commit-tree", tree, "-p", tip, "-F", "-", input=message).strip()


def plan_repo_gc(
    clone: Path,
    rev: str | None,
    platform: Platform,
    now: datetime,
    max_deletions: int,
    pr_states: PrStates | PrStateLookup | None,
    progress: Progress | None = None,
) -> GcReport:
    """The clean-up's decisions for the previews committed at ``rev`` (none when ``rev`` is None).

    With a lookup (``--github``), it is asked only about the previews the TTL alone would keep: an expired
    preview goes whatever its PR's state, so asking about it would only spend the API's rate limit.
    """
    names, protected = preview_marks(platform)
    candidates = read_committed_candidates(clone, rev) if rev else []
    if progress is not None:
        progress("read previews", len(candidates), len(candidates))

    def decide(states: PrStates | None) -> GcReport:
        return plan_gc(
            candidates, now=now, max_deletions=max_deletions, protected=protected, names=names, pr_states=states
        )

    if not callable(pr_states):
        return decide(pr_states)
    by_ttl = decide(None)
    return decide(pr_states([n for n in map(names.number, by_ttl.kept) if n is not None]))


def gc_message(report: GcReport) -> str:
    """The commit message of a clean-up, with one Shipyard-PR trailer per removed preview."""
    lines = [f"Clean up {len(report.delete)} preview(s)", ""]
    lines += [f"- {d.name}: {d.reason}" for d in report.delete]
    trailers = [("Shipyard-PR", str(d.marked.number)) for d in report.delete]
    return format_message("\n".join(lines), trailers)


def preview_gc(
    source: str,
    platform: Platform,
    now: datetime,
    *,
    max_deletions: int,
    pr_states: PrStates | PrStateLookup | None,
    dry_run: bool,
    retry: Retrier | None = None,
    progress: Progress | None = None,
) -> tuple[GcReport, str | None]:
    """Remove expired and closed previews from the config repo (at most ``max_deletions``) and push.

    ``pr_states`` is a PR state mapping (``--pr-state FILE``) or a lookup asked per run (``--github``).
    ``progress`` is told how many previews were read.

    It works on git's objects alone (a bare clone, a scratch index), so a run over thousands of previews
    writes no files. Like ``change_branch``, a push that loses a race fetches the new tip and decides again
    from it, so a preview updated or removed meanwhile is judged as it is now. Lost races are retried under
    ``retry`` (default ``shipyard.retry.PUSH_RACE``).
    """
    with temporary_clone(source, "--bare") as clone:
        git = Git(clone)

        def attempt() -> tuple[GcReport, str | None]:
            tip = remote_tip(clone)
            report = plan_repo_gc(clone, tip, platform, now, max_deletions, pr_states, progress)
            if tip is None or dry_run or not report.delete:
                return report, None
            commit = commit_removal(clone, tip, [d.name for d in report.delete], gc_message(report))
            git.push(REMOTE, [f"{commit}:refs/heads/{BRANCH}"])  # PushRejected: decide again from the new tip
            return report, commit

        try:
            return (retry or Retrier(PUSH_RACE)).call(attempt, on=(PushRejected,))
        except GaveUp as exc:
            raise ShipyardError(
                f"could not push the clean-up to {BRANCH} after {exc.attempts} attempts: other writers kept winning",
                hint="run it again; nothing was half-applied",
            ) from exc
