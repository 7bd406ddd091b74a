"""What runs where, from the config repo's history alone: the status board and a service's trace.

Both are computed from one parsed ledger (one ``git log``), so they answer the same on a laptop, in CI
and for anyone who can clone the config repo; no cluster or registry is asked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from shipyard.errors import ShipyardError
from shipyard.k8s.argocd import application_name
from shipyard.promotion.approvals import Tally
from shipyard.promotion.gates import pending
from shipyard.promotion.ledger import Entry, Ledger
from shipyard.stages.graph import StageGraph


@dataclass(frozen=True)
class Cell:
    """One service in one environment, deployed by its own Argo CD Application."""

    application: str
    version: str
    maturity: str | None
    freight: str
    digest: str
    commit: str
    since: str

    def to_json(self) -> dict[str, object]:
        """The cell as JSON."""
        return {
            "application": self.application,
            "version": self.version,
            "maturity": self.maturity,
            "freight": self.freight,
            "digest": self.digest,
            "commit": self.commit,
            "since": self.since,
        }


@dataclass(frozen=True)
class Pending:
    """Freight waiting to enter a stage."""

    stage: str
    version: str
    freight: str
    mode: str
    """"auto" (the next ``promote --auto`` takes it) or "manual" (waits for an approval)."""
    note: str
    approval: Tally | None = None
    """For a manual stage: the decisions recorded so far, counted."""

    def to_json(self) -> dict[str, object]:
        """As JSON."""
        return {
            "stage": self.stage,
            "version": self.version,
            "freight": self.freight,
            "mode": self.mode,
            "note": self.note,
            "approval": self.approval.to_json() if self.approval is not None else None,
        }


@dataclass(frozen=True)
class Board:
    """Rows of services, columns of environments, and what waits to move."""

    environments: list[str]
    services: list[str]
    cells: dict[tuple[str, str], Cell]
    pending: list[Pending]

    def to_json(self) -> dict[str, object]:
        """The board as JSON (see docs/promotion.md)."""
        return {
            "environments": self.environments,
            "services": {
                service: {
                    env: self.cells[(service, env)].to_json()
                    for env in self.environments
                    if (service, env) in self.cells
                }
                for service in self.services
            },
            "pending": [p.to_json() for p in self.pending],
        }


def _cell(application: str, entry: Entry, digest: str, since: Entry) -> Cell:
    return Cell(
        application=application,
        version=entry.version,
        maturity=entry.maturity,
        freight=entry.freight,
        digest=digest,
        commit=entry.commit,
        since=since.date,
    )


def _since(moves: list[Entry], service: str, digest: str, latest: Entry) -> Entry:
    """The move from which the service has run this digest without interruption (``latest`` set it last)."""
    since: Entry | None = None
    for entry in moves:
        pinned = dict(entry.images).get(service)
        if pinned is None:
            continue
        since = (since or entry) if pinned == digest else None
    return since or latest


def board(graph: StageGraph, ledger: Ledger, approvals: Sequence[Tally] = ()) -> Board:
    """The status board: every stage of the graph (and any other promoted environment), every service seen.

    ``approvals`` (``decide.approval_queue``) add to each manual stage's pending freight who approved it so far.
    """
    environments = [node.name for node in graph.stages]
    environments += [stage for stage in ledger.stages() if stage not in environments]
    cells: dict[tuple[str, str], Cell] = {}
    services: set[str] = {service for entry in ledger.entries for service, _ in entry.images}
    for env in environments:
        moves = ledger.moves(env)
        for service, entry in ledger.running(env).items():
            digest = dict(entry.images)[service]
            since = _since(moves, service, digest, entry)
            cells[(service, env)] = _cell(application_name(service, env), entry, digest, since)
    waiting = []
    for node in graph.stages:
        candidate = pending(graph, ledger, node.name)
        if candidate is None:
            continue
        note = "next `shipyard promote --auto`" if node.auto else "waits for approval"
        if node.requires_stable_tag:
            note += "; its digests must carry the stable tag"
        counted = next((t for t in approvals if t.policy.stage == node.name and t.freight == candidate.freight), None)
        if counted is not None and (counted.approvals or counted.rejection is not None):
            note += f"; {counted.summary()}"
        waiting.append(
            Pending(node.name, candidate.version, candidate.freight, "auto" if node.auto else "manual", note, counted)
        )
    return Board(environments=environments, services=sorted(services), cells=cells, pending=waiting)


@dataclass(frozen=True)
class Hop:
    """One stage on the path a freight took."""

    stage: str
    version: str
    date: str
    commit: str
    by: str

    def to_json(self) -> dict[str, object]:
        """As JSON."""
        return {"stage": self.stage, "version": self.version, "date": self.date, "commit": self.commit, "by": self.by}


@dataclass(frozen=True)
class Placement:
    """Where a service runs in one environment, and how it got there."""

    env: str
    application: str
    """The Argo CD Application that deploys the service there."""
    version: str
    freight: str
    digest: str
    source_commit: str | None
    pr: str | None
    since: str
    commit: str
    promoted_by: str
    rollback: bool
    path: list[Hop]
    release_prs: list[str]
    """The pull requests whose freight of the same X.Y.Z carried the service: how a beta, stable or hotfix,
    built on a release branch that takes no pull requests, leads back to the PRs it ships."""

    def to_json(self) -> dict[str, object]:
        """As JSON (see docs/promotion.md)."""
        return {
            "env": self.env,
            "application": self.application,
            "version": self.version,
            "freight": self.freight,
            "digest": self.digest,
            "sourceCommit": self.source_commit,
            "pr": self.pr,
            "since": self.since,
            "commit": self.commit,
            "promotedBy": self.promoted_by,
            "rollback": self.rollback,
            "path": [hop.to_json() for hop in self.path],
            "releasePrs": self.release_prs,
        }


# A version's release line: whatever the tag prefix (it holds no digit), up to the end of X.Y.Z.
_RELEASE_LINE = re.compile(r"([^0-9]*[0-9]+\.[0-9]+\.[0-9]+)(?:[-+].*)?", re.DOTALL)


def release_line(version: str) -> str | None:
    """``v1.2.0`` for ``v1.2.0-beta.2`` or ``v1.2.0``; None for what is not a version."""
    found = _RELEASE_LINE.fullmatch(version)
    return found.group(1) if found else None


def release_prs(ledger: Ledger, service: str, version: str) -> list[str]:
    """The PRs of ``version``'s release line that built ``service``, oldest first: freight records of that
    line whose digest of the service is new (freight holds every service, most of them carried over)."""
    line = release_line(version)
    found: list[str] = []
    last: str | None = None
    for entry in ledger.entries:
        digest = dict(entry.images).get(service) if entry.kind == "freight" else None
        if digest is None or digest == last:
            continue
        last = digest
        if entry.pr and entry.pr not in found and line is not None and release_line(entry.version) == line:
            found.append(entry.pr)
    return found


@dataclass(frozen=True)
class Trace:
    """Where one service runs, environment by environment."""

    service: str
    placements: list[Placement]

    def to_json(self) -> dict[str, object]:
        """As JSON (see docs/promotion.md)."""
        return {"service": self.service, "environments": [p.to_json() for p in self.placements]}


def trace(graph: StageGraph, ledger: Ledger, service: str, env: str | None = None) -> list[Placement]:
    """What runs where for ``service``: version, source commit and PR, since when, by whom, the path taken."""
    known = {s for entry in ledger.entries for s, _ in entry.images}
    if service not in known:
        raise ShipyardError(
            f"no freight in the config repo names service '{service}'",
            hint=f"services seen: {', '.join(sorted(known)) or 'none yet'}",
        )
    environments = [node.name for node in graph.stages]
    environments += [stage for stage in ledger.stages() if stage not in environments]
    if env is not None and env not in environments:
        raise ShipyardError(f"no environment '{env}'; valid: {', '.join(environments)}")
    found = []
    for name in environments if env is None else [env]:
        entry = ledger.running(name).get(service)
        if entry is None:
            continue
        digest = dict(entry.images)[service]
        since = _since(ledger.moves(name), service, digest, entry)
        path = [
            Hop(hop.stage or "", hop.version, hop.date, hop.commit, hop.promoted_by)
            for hop in ledger.path_of(entry.freight)
            if service in dict(hop.images)
        ]
        found.append(
            Placement(
                env=name,
                application=application_name(service, name),
                version=entry.version,
                freight=entry.freight,
                digest=digest,
                source_commit=entry.source_commit,
                pr=entry.pr,
                since=since.date,
                commit=entry.commit,
                promoted_by=entry.promoted_by,
                rollback=entry.kind == "rollback",
                path=path,
                release_prs=release_prs(ledger, service, entry.version),
            )
        )
    return found
