"""The config repo's history as a ledger of freight and promotions, read with one ``git log``.

Every change the executor makes is a commit whose trailers say what moved: ``Shipyard-Freight``,
``Shipyard-Version``, ``Shipyard-Stage``, ``Shipyard-Approved-By``, the source commit and PR, and one
``Shipyard-Service`` followed by its ``Shipyard-Digest`` per image. A commit recording a freight has no
``Shipyard-Stage`` (and names the source commit's authors, ``Shipyard-Source-Author``); a promotion or
rollback has one. A decision on a manual stage (``Shipyard-Decision: approve`` or ``reject``) names the
freight and the stage, who decided (``Shipyard-Approved-By`` or ``Shipyard-Rejected-By``) and carries the
comment in its body; it moves nothing. Status, trace and the gates all read this ledger, so they need
nothing but the repo's history.

"Freight passed a stage" means: a commit of this ledger put that freight into that stage. The
promotion commit is the verification record: the executor has no cluster to watch, and on a cluster
Kargo's own verification decides what its Stages see (the equivalence tests replay that).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from shipyard.configrepo.location import config_for_reading
from shipyard.git import Git, parse_trailers
from shipyard.versioning.tags import try_parse_tag

EntryKind = Literal["freight", "promotion", "rollback", "decision"]
DecisionKind = Literal["approve", "reject"]
DECISIONS: tuple[DecisionKind, ...] = ("approve", "reject")
ROLLBACK_SUBJECT = "Roll back "
_FIELD = "\x1f"
_RECORD = "\x1e"


@dataclass(frozen=True)
class Entry:
    """One commit of the config repo that Shipyard made: a freight recorded, promoted or rolled back, or a
    decision on freight for a manual stage."""

    commit: str
    author: str
    date: str
    subject: str
    kind: EntryKind
    freight: str
    version: str
    stage: str | None = None
    source_commit: str | None = None
    pr: str | None = None
    approved_by: str | None = None
    """Who approved; several approvers of one promotion are joined with ", "."""
    images: tuple[tuple[str, str], ...] = ()
    """(service, digest) pairs, in the order the trailers name them."""
    decision: DecisionKind | None = None
    rejected_by: str | None = None
    comment: str = ""
    """A decision's comment: the message between its subject and its trailers."""
    authors: tuple[str, ...] = ()
    """A freight record's source-commit authors (emails), as ``freight add`` found them."""

    @property
    def maturity(self) -> str | None:
        """alpha, beta or stable, from the version."""
        parsed = try_parse_tag(self.version)
        return parsed.maturity if parsed else None

    @property
    def promoted_by(self) -> str:
        """Who approved the move, or who committed it when no approval was needed."""
        return self.approved_by or self.author


def entry_from_commit(commit: str, author: str, date: str, message: str) -> Entry | None:
    """Read a commit's trailers; None for commits that are not Shipyard freight moves."""
    trailers = parse_trailers(message)
    values: dict[str, str] = {}
    images: list[tuple[str, str]] = []
    approvers: list[str] = []
    authors: list[str] = []
    service: str | None = None
    for key, value in trailers:
        if key == "Shipyard-Service":
            service = value
        elif key == "Shipyard-Digest" and service is not None:
            images.append((service, value))
            service = None
        elif key == "Shipyard-Approved-By":
            approvers.append(value)
        elif key == "Shipyard-Source-Author":
            authors.append(value)
        else:
            values.setdefault(key, value)
    if "Shipyard-Freight" not in values or "Shipyard-Version" not in values:
        return None
    subject = message.strip().splitlines()[0] if message.strip() else ""
    stage = values.get("Shipyard-Stage")
    kind: EntryKind = "freight"
    decision: DecisionKind | None = None
    comment = ""
    if "Shipyard-Decision" in values:
        decision = next((d for d in DECISIONS if d == values["Shipyard-Decision"]), None)
        decider = approvers[0] if decision == "approve" and approvers else values.get("Shipyard-Rejected-By")
        if stage is None or decision is None or not decider:
            return None  # a decision that does not say on what, or by whom, decides nothing
        kind = "decision"
        paragraphs = [p for p in message.strip().split("\n\n") if p.strip()]
        comment = "\n\n".join(paragraphs[1:-1])
    elif stage is not None:
        kind = "rollback" if subject.startswith(ROLLBACK_SUBJECT) else "promotion"
    return Entry(
        commit=commit,
        author=author,
        date=date,
        subject=subject,
        kind=kind,
        freight=values["Shipyard-Freight"],
        version=values["Shipyard-Version"],
        stage=stage,
        source_commit=values.get("Shipyard-Source-Commit"),
        pr=values.get("Shipyard-PR"),
        approved_by=", ".join(approvers) or None,
        images=tuple(images),
        decision=decision,
        rejected_by=values.get("Shipyard-Rejected-By") if decision == "reject" else None,
        comment=comment,
        authors=tuple(authors),
    )


@dataclass(frozen=True)
class FreightRecords:
    """The freight recorded in the config repo, oldest first, each with the stages it passed (what ``freight
    list`` shows)."""

    entries: list[Entry]
    passed: dict[str, list[Entry]] = field(default_factory=dict)
    """Per freight id, its first move into each stage, oldest first."""

    @classmethod
    def of(cls, ledger: Ledger) -> FreightRecords:
        """Every freight record of ``ledger`` and the path each took."""
        first: dict[str, dict[str, Entry]] = {}
        for move in ledger.moves():  # oldest first: one pass, however long the history
            first.setdefault(move.freight, {}).setdefault(move.stage or "", move)
        recorded = ledger.recorded()
        return cls(recorded, {e.freight: list(first.get(e.freight, {}).values()) for e in recorded})

    def to_json(self) -> list[dict[str, Any]]:
        """For JSON output (documented in docs/promotion.md)."""
        return [
            {
                "id": e.freight,
                "version": e.version,
                "commit": e.commit,
                "date": e.date,
                "services": dict(e.images),
                "authors": list(e.authors),
                "sourceCommit": e.source_commit,
                "pr": e.pr,
                "passed": [
                    {"stage": m.stage, "version": m.version, "date": m.date, "by": m.promoted_by, "commit": m.commit}
                    for m in self.passed.get(e.freight, [])
                ],
            }
            for e in self.entries
        ]


@dataclass
class Ledger:
    """The freight and promotion entries of the config repo, oldest first."""

    entries: list[Entry] = field(default_factory=list)

    @classmethod
    def read(cls, repo: Git, ref: str = "main") -> Ledger:
        """Parse the history of ``ref``, the config repo's branch (an empty repository gives an empty ledger)."""
        if not repo.has_ref(ref):
            return cls()
        out = repo.run("log", "--reverse", f"--format=%H{_FIELD}%an{_FIELD}%cI{_FIELD}%B{_RECORD}", ref, "--")
        return cls.parse(out)

    @classmethod
    def parse(cls, log: str) -> Ledger:
        """Parse ``git log`` output in the format ``read`` asks for."""
        entries = []
        for record in log.split(_RECORD):
            parts = record.strip("\n").split(_FIELD, 3)
            if len(parts) == 4:
                entry = entry_from_commit(*parts)
                if entry is not None:
                    entries.append(entry)
        return cls(entries)

    # Queries

    def moves(self, stage: str | None = None) -> list[Entry]:
        """Promotions and rollbacks (into ``stage`` when given), oldest first."""
        return [e for e in self.entries if e.kind in ("promotion", "rollback") and (stage is None or e.stage == stage)]

    def decisions(self, stage: str | None = None, freight: str | None = None) -> list[Entry]:
        """Approvals and rejections (for ``stage`` and ``freight`` when given), oldest first."""
        return [
            e
            for e in self.entries
            if e.kind == "decision"
            and (stage is None or e.stage == stage)
            and (freight is None or e.freight == freight)
        ]

    def stages(self) -> list[str]:
        """Every stage something was promoted into, in the order they first appear."""
        seen: dict[str, None] = {}
        for entry in self.moves():
            seen.setdefault(entry.stage or "", None)
        return list(seen)

    def recorded(self) -> list[Entry]:
        """The freight records, oldest first."""
        return [e for e in self.entries if e.kind == "freight"]

    def passed(self, freight: str, stage: str) -> bool:
        """True when ``freight`` was put into ``stage`` (the promotion commit is its verification)."""
        return any(e.freight == freight for e in self.moves(stage))

    def held(self, stage: str) -> set[str]:
        """Every freight ``stage`` ever ran."""
        return {e.freight for e in self.moves(stage)}

    def current(self, stage: str) -> Entry | None:
        """The last move into ``stage``: the freight it runs now."""
        moves = self.moves(stage)
        return moves[-1] if moves else None

    def running(self, stage: str) -> dict[str, Entry]:
        """Per service, the move that set the image ``stage`` runs now (freights may hold some services)."""
        found: dict[str, Entry] = {}
        for entry in self.moves(stage):
            for service, _ in entry.images:
                found[service] = entry
        return found

    def path_of(self, freight: str, stages: Iterable[str] | None = None) -> list[Entry]:
        """The first move of ``freight`` into each stage: the path it took, oldest first."""
        wanted = set(stages) if stages is not None else None
        first: dict[str, Entry] = {}
        for entry in self.moves():
            stage = entry.stage or ""
            if entry.freight == freight and stage not in first and (wanted is None or stage in wanted):
                first[stage] = entry
        return list(first.values())


def read_ledger(url: str) -> Ledger:
    """The ledger of the config repo: read in place for a local repo, from a bare partial clone otherwise."""
    with config_for_reading(url) as (git, ref):
        return Ledger.read(git, ref)
