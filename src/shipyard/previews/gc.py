"""Which previews the clean-up removes: pure decisions over candidates, no git and no cluster.

A candidate is deleted only when it carries every one of Shipyard's marks (see ``previews.marks``), is
not a protected namespace, has readable timestamps, and then either its TTL has run out or its pull
request is positively known to be closed (config repo mode), or it has no directory in the config repo
(cluster orphan mode). At most ``max_deletions`` go per run, oldest first; the rest are deferred to the
next run, so one bad input can never wipe out every preview at once.

The orphan check needs the config repo's side to be there: without the branch, or without a
``previews/`` folder on it, every live preview would look like an orphan, so the check refuses to
decide anything (``NoPreviewsTree``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from shipyard.errors import ShipyardError
from shipyard.plan import Op, Plan
from shipyard.previews.marks import (
    ANNOTATION_MANAGED_BY,
    LABEL_PREVIEW,
    Marked,
    NamePattern,
    read_marks,
)
from shipyard.previews.prstate import PrStates
from shipyard.times import format_rfc3339

Reason = Literal["expired", "closed", "orphan"]


class NoPreviewsTree(ShipyardError):
    """The config repo has no branch, or no ``previews/`` folder on it: orphans cannot be told from live previews."""


@dataclass(frozen=True)
class Candidate:
    """Something that may be a preview: a directory's Namespace, or a live namespace."""

    name: str
    labels: Mapping[str, Any] | None
    annotations: Mapping[str, Any] | None
    terminating: bool = False
    uid: str | None = None
    resource_version: str | None = None
    problem: str | None = None  # set when the candidate could not even be read (a broken namespace.yaml)


@dataclass(frozen=True)
class Decision:
    """A preview chosen for deletion (or deferred by the cap), and why."""

    marked: Marked
    reason: Reason
    candidate: Candidate

    @property
    def name(self) -> str:
        """The namespace (and directory) name."""
        return self.marked.name

    def to_json(self) -> dict[str, Any]:
        """For JSON output."""
        created, expires = self.marked.created_at, self.marked.expires_at
        return {
            "name": self.name,
            "pr": self.marked.number,
            "reason": self.reason,
            "createdAt": format_rfc3339(created) if created else None,
            "expiresAt": format_rfc3339(expires) if expires else None,
        }


@dataclass(frozen=True)
class Skip:
    """A candidate left alone, with the reason people need to fix it (or to know it is not ours)."""

    name: str
    reason: str

    def to_json(self) -> dict[str, str]:
        """For JSON output."""
        return {"name": self.name, "reason": self.reason}


@dataclass
class GcReport:
    """The clean-up's decisions: what goes now, what waits for the cap, what is skipped and why."""

    mode: Literal["config-repo", "cluster"]
    now: datetime
    max_deletions: int
    delete: list[Decision] = field(default_factory=list)
    deferred: list[Decision] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    ignored: int = 0
    pr_states: PrStates | None = None

    def plan(self, *, delete_orphans: bool = True) -> Plan:
        """The plan applying the decisions: one delete per preview; notes for what was skipped or deferred."""
        command = "shipyard preview gc" + (" --cluster" if self.mode == "cluster" else "")
        plan = Plan(command=command)
        for decision in self.delete:
            if self.mode == "cluster" and not delete_orphans:
                plan.notes.append(
                    f"orphan namespace {decision.name} (PR {decision.marked.number}): pass --delete-orphans"
                )
                continue
            target = f"namespace/{decision.name}" if self.mode == "cluster" else f"previews/{decision.name}"
            plan.add(Op.delete, target, _summary(decision), pr=decision.marked.number, reason=decision.reason)
        if self.deferred:
            names = ", ".join(d.name for d in self.deferred)
            plan.notes.append(f"deletion cap {self.max_deletions} reached; deferred to the next run: {names}")
        plan.notes.extend(f"skipped {s.name}: {s.reason}" for s in self.skipped)
        if self.pr_states is not None:
            plan.notes.extend(f"PR state: {p} (treated as unknown, never as closed)" for p in self.pr_states.problems)
        return plan

    def to_json(self) -> dict[str, Any]:
        """For JSON output (stable keys, documented in docs/previews.md)."""
        return {
            "mode": self.mode,
            "now": format_rfc3339(self.now),
            "maxDeletions": self.max_deletions,
            "delete": [d.to_json() for d in self.delete],
            "deferred": [d.to_json() for d in self.deferred],
            "skipped": [s.to_json() for s in self.skipped],
            "kept": self.kept,
            "ignored": self.ignored,
            "prState": self.pr_states.to_json() if self.pr_states else None,
        }


def _summary(decision: Decision) -> str:
    if decision.reason == "expired" and decision.marked.expires_at:
        return f"TTL ran out at {format_rfc3339(decision.marked.expires_at)}"
    if decision.reason == "closed":
        return f"pull request {decision.marked.number} is closed"
    return "no directory in the config repo"


def _looks_like_preview(candidate: Candidate, names: NamePattern) -> bool:
    labels = candidate.labels if isinstance(candidate.labels, Mapping) else {}
    annotations = candidate.annotations if isinstance(candidate.annotations, Mapping) else {}
    return (
        names.number(candidate.name) is not None
        or LABEL_PREVIEW in labels
        or ANNOTATION_MANAGED_BY in annotations
        or candidate.name.startswith(names.pattern.partition("{number}")[0])
    )


def _cap(report: GcReport, chosen: list[Decision]) -> None:
    # Oldest first, so a capped run removes the longest-overdue previews and the order never depends on input order.
    chosen.sort(key=lambda d: (d.marked.created_at or d.marked.expires_at, d.marked.number, d.name))
    report.delete = chosen[: report.max_deletions]
    report.deferred = chosen[report.max_deletions :]


def _marked(candidate: Candidate, names: NamePattern, protected: frozenset[str]) -> Marked | str:
    if candidate.problem:
        return candidate.problem
    return read_marks(candidate.name, candidate.labels, candidate.annotations, names, protected)


def plan_gc(
    candidates: Iterable[Candidate],
    *,
    now: datetime,
    max_deletions: int,
    protected: frozenset[str],
    names: NamePattern,
    pr_states: PrStates | None = None,
) -> GcReport:
    """Decide the clean-up of the config repo's previews: expired TTL, or a positively closed PR."""
    if max_deletions < 0:
        raise ValueError("max_deletions must not be negative")
    report = GcReport("config-repo", now, max_deletions, pr_states=pr_states)
    chosen: list[Decision] = []
    for candidate in candidates:
        marked = _marked(candidate, names, protected)
        if isinstance(marked, str):
            report.skipped.append(Skip(candidate.name, f"not a Shipyard preview: {marked}"))
        elif marked.problem or marked.expires_at is None:
            report.skipped.append(Skip(candidate.name, f"malformed, never treated as expired: {marked.problem}"))
        elif marked.expires_at <= now:
            chosen.append(Decision(marked, "expired", candidate))
        elif pr_states is not None and pr_states.is_closed(marked.number):
            chosen.append(Decision(marked, "closed", candidate))
        else:
            report.kept.append(candidate.name)
    _cap(report, chosen)
    report.kept.sort()
    return report


def plan_orphans(
    namespaces: Iterable[Candidate],
    directories: set[str] | None,
    *,
    now: datetime,
    max_deletions: int,
    protected: frozenset[str],
    names: NamePattern,
    source: str = "the config repo",
) -> GcReport:
    """Decide which live preview namespaces are orphans: all marks present, no ``previews/<name>/`` directory.

    ``directories`` are the preview directories committed in the config repo; None when it has no branch
    or no ``previews/`` folder on it, which is refused with NoPreviewsTree: a config repo that holds no
    previews at all (empty, the wrong branch, the wrong repository) would make every preview an orphan.
    """
    if max_deletions < 0:
        raise ValueError("max_deletions must not be negative")
    if directories is None:
        raise NoPreviewsTree(
            f"{source} has no previews/ folder on its branch (or no branch at all), so every live preview would "
            "look like an orphan: nothing was decided, nothing is deleted",
            hint="check --config-repo (or repos.config); delete a namespace you know is an orphan by hand",
        )
    report = GcReport("cluster", now, max_deletions)
    chosen: list[Decision] = []
    for candidate in namespaces:
        marked = _marked(candidate, names, protected)
        if isinstance(marked, str):
            if _looks_like_preview(candidate, names):
                report.skipped.append(Skip(candidate.name, f"not a Shipyard preview: {marked}"))
            else:
                report.ignored += 1
        elif marked.problem or marked.expires_at is None:
            report.skipped.append(Skip(candidate.name, f"malformed, left alone: {marked.problem}"))
        elif candidate.name in directories:
            report.kept.append(candidate.name)
        elif candidate.terminating:
            report.skipped.append(Skip(candidate.name, "already terminating"))
        else:
            chosen.append(Decision(marked, "orphan", candidate))
    _cap(report, chosen)
    report.kept.sort()
    return report
