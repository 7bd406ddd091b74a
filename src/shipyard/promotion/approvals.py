"""Approvals with identity: decisions on freight for a manual stage, the rules they must keep, and the
approval gate that counts them.

A decision is one person approving or rejecting one freight for one stage. Each is a commit in the
config repo (``Shipyard-Decision``, ``Shipyard-Freight``, ``Shipyard-Version``, ``Shipyard-Stage`` and
``Shipyard-Approved-By`` or ``Shipyard-Rejected-By``; the comment is the message's body), so git stays
the only state and the ledger is the audit log. A decision counts when its maker may decide *today*:
the rules are checked again each time decisions are counted, so taking someone off the approvers
withdraws their decisions too.

The rules (``may_decide``): the person is listed in the spec and among the stage's approvers (by id or
group); with the four-eyes rule, an approver is not an author of the freight's source commit, and an
unknown author is refused rather than assumed to be someone else. ``required`` different people must
approve. One counted rejection stops that freight for that stage for good; a new freight (another
build, another id) starts afresh.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from shipyard.configrepo.checkout import publish
from shipyard.errors import ShipyardError
from shipyard.git import Git
from shipyard.promotion.gates import Gate, stable_tag
from shipyard.promotion.ledger import DecisionKind, Entry, Ledger
from shipyard.promotion.people import Directory, Policy, policy_for
from shipyard.spec.model import Platform
from shipyard.stages.graph import StageNode

COMMENT_LIMIT = 2000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_comment(text: str | None) -> str:
    """A decision's comment as it is committed: at most 2,000 characters, no control characters, lines
    without trailing spaces, at most one blank line in a row (git keeps exactly that, so it reads back
    the same). A ShipyardError when it is too long or holds control characters."""
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    if _CONTROL.search(text):
        raise ShipyardError("the comment holds control characters; write plain text")
    lines = [line.rstrip() for line in text.strip().split("\n")]
    cleaned = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    if len(cleaned) > COMMENT_LIMIT:
        raise ShipyardError(f"the comment has {len(cleaned)} characters; at most {COMMENT_LIMIT}")
    return cleaned


@dataclass(frozen=True)
class Decision:
    """One person's approval or rejection of a freight for a manual stage."""

    person: str
    stage: str
    freight: str
    version: str
    decision: DecisionKind
    comment: str = ""
    when: str = ""
    """The commit's date (ISO 8601); empty until it is recorded."""
    commit: str | None = None
    source_commit: str | None = None

    @classmethod
    def from_entry(cls, entry: Entry) -> Decision:
        """The decision a ledger entry of kind ``decision`` records."""
        assert entry.decision is not None and entry.stage is not None
        person = entry.approved_by if entry.decision == "approve" else entry.rejected_by
        return cls(
            person=person or "",
            stage=entry.stage,
            freight=entry.freight,
            version=entry.version,
            decision=entry.decision,
            comment=entry.comment,
            when=entry.date,
            commit=entry.commit,
            source_commit=entry.source_commit,
        )

    @property
    def subject(self) -> str:
        """The commit's subject line."""
        verb = "Approve" if self.decision == "approve" else "Reject"
        return f"{verb} {self.version} for {self.stage}"

    def message(self) -> str:
        """The commit message before its trailers: the subject, then the comment."""
        return f"{self.subject}\n\n{self.comment}" if self.comment else self.subject

    def trailers(self) -> list[tuple[str, str]]:
        """The decision's trailers, which the ledger reads back."""
        found = [
            ("Shipyard-Decision", self.decision),
            ("Shipyard-Freight", self.freight),
            ("Shipyard-Version", self.version),
            ("Shipyard-Stage", self.stage),
        ]
        if self.source_commit:
            found.append(("Shipyard-Source-Commit", self.source_commit))
        key = "Shipyard-Approved-By" if self.decision == "approve" else "Shipyard-Rejected-By"
        found.append((key, self.person))
        return found

    def to_json(self) -> dict[str, object]:
        """As JSON (see docs/promotion.md)."""
        return {
            "person": self.person,
            "stage": self.stage,
            "freight": self.freight,
            "version": self.version,
            "decision": self.decision,
            "comment": self.comment,
            "when": self.when or None,
            "commit": self.commit,
        }


def decisions_for(ledger: Ledger, stage: str, freight: str) -> list[Decision]:
    """The recorded decisions on ``freight`` for ``stage``, oldest first."""
    return [Decision.from_entry(e) for e in ledger.decisions(stage, freight)]


def may_decide(
    policy: Policy, directory: Directory, person: str, decision: DecisionKind, authors: Iterable[str]
) -> str | None:
    """Why ``person`` may not make ``decision`` on a freight whose source commit ``authors`` wrote; None
    when they may. An empty ``authors`` means nobody knows who wrote it."""
    stage = policy.stage
    if policy.mode == "auto":
        return f"{stage} promotes automatically: there is nothing to decide"
    if not person:
        return "nobody is named as the approver"
    if policy.open:
        return None
    if person not in directory.people:
        return f"'{person}' is not a person listed in shipyard.yaml (people); only they decide on {stage}"
    if person not in policy.people:
        return f"{person} may not decide on {stage}; its approvers: {policy.description}"
    if decision == "approve" and policy.four_eyes:
        written = {email.casefold() for email in authors}
        if not written:
            return (
                f"the four-eyes rule of {stage} needs the author of the freight's source commit, and nobody knows "
                "it: record the freight with --source-commit from the app repo (or --author EMAIL)"
            )
        mine = sorted(directory.emails(person) & written)
        if mine:
            return (
                f"{person} wrote the freight's source commit ({', '.join(mine)}): the four-eyes rule of {stage} "
                "needs someone else to approve"
            )
    return None


@dataclass(frozen=True)
class Tally:
    """The decisions on one freight for one stage, counted under today's rules."""

    policy: Policy
    freight: str
    version: str
    approvals: tuple[Decision, ...]
    """The approvals that count: one per person, the first of each."""
    ignored: tuple[tuple[Decision, str], ...]
    """Decisions that do not count, each with the reason."""
    rejection: Decision | None
    authors: tuple[str, ...]
    eligible: tuple[str, ...] = ()
    """The approvers who may still approve (not yet counted, not an author under four eyes); empty when
    the spec lists no one and anyone may."""

    @property
    def approved_by(self) -> tuple[str, ...]:
        """The people whose approvals count, in the order they approved."""
        return tuple(d.person for d in self.approvals)

    @property
    def missing(self) -> int:
        """How many more approvals are needed."""
        return max(0, self.policy.required - len(self.approvals))

    @property
    def satisfied(self) -> bool:
        """True when enough people approved and nobody's rejection counts."""
        return self.rejection is None and self.missing == 0

    def summary(self) -> str:
        """One line for people: who approved, out of how many, or who rejected."""
        if self.rejection is not None:
            note = f": {self.rejection.comment.splitlines()[0]}" if self.rejection.comment else ""
            return f"rejected by {self.rejection.person}{note}"
        names = ", ".join(self.approved_by) or "nobody yet"
        return f"approved by {names} ({len(self.approvals)} of {self.policy.required})"

    def to_json(self) -> dict[str, object]:
        """As JSON (see docs/promotion.md)."""
        return {
            "stage": self.policy.stage,
            "freight": self.freight,
            "version": self.version,
            "policy": self.policy.to_json(),
            "approvedBy": list(self.approved_by),
            "approvals": [d.to_json() for d in self.approvals],
            "rejection": self.rejection.to_json() if self.rejection else None,
            "ignored": [{**d.to_json(), "reason": why} for d, why in self.ignored],
            "missing": self.missing,
            "satisfied": self.satisfied,
            "authors": list(self.authors),
            "eligible": list(self.eligible),
        }


def tally(
    policy: Policy,
    directory: Directory,
    freight: str,
    version: str,
    decisions: Sequence[Decision],
    authors: Iterable[str],
) -> Tally:
    """Count ``decisions`` (oldest first) on ``freight`` under ``policy``: each must still be allowed."""
    written = tuple(sorted({a.casefold() for a in authors}))
    counted: dict[str, Decision] = {}
    ignored: list[tuple[Decision, str]] = []
    rejection: Decision | None = None
    for decision in decisions:
        why = may_decide(policy, directory, decision.person, decision.decision, written)
        if why is not None:
            ignored.append((decision, why))
        elif decision.decision == "reject":
            rejection = rejection or decision
        elif decision.person in counted:
            ignored.append((decision, f"{decision.person} approved before; each person counts once"))
        else:
            counted[decision.person] = decision
    eligible = tuple(
        person
        for person in sorted(policy.people)
        if person not in counted and may_decide(policy, directory, person, "approve", written) is None
    )
    return Tally(policy, freight, version, tuple(counted.values()), tuple(ignored), rejection, written, eligible)


@dataclass(frozen=True)
class Review:
    """The approval gate's verdict for one promotion, and the approval it would record first."""

    gate: Gate
    tally: Tally | None
    record: Decision | None
    """The runner's approval, to be committed before the promotion (None: nothing to record)."""

    @property
    def approvers(self) -> tuple[str, ...]:
        """Whom the promotion commit names in ``Shipyard-Approved-By``."""
        return self.tally.approved_by if self.tally is not None else ()


def decision_version(node: StageNode, version: str, prefix: str) -> str:
    """The version a decision on freight of ``version`` names: the release's stable version where the
    stage takes freight once it carries the stable tag (production), as its promotion commit does."""
    return stable_tag(version, prefix) if node.requires_stable_tag else version


def review(
    platform: Platform,
    node: StageNode,
    ledger: Ledger,
    freight: str,
    version: str,
    *,
    approve: bool,
    approver: str | None,
    authors: Iterable[str] = (),
    source_commit: str | None = None,
) -> Review:
    """The approval gate of ``node`` for ``freight``: the recorded decisions, plus the runner's approval
    when ``approve`` (``approver`` is a person's id or email; any name when no people are listed)."""
    if node.auto:
        return Review(Gate("approval", True, f"{node.name} promotes automatically"), None, None)
    policy = policy_for(platform, node.name)
    directory = Directory.of(platform)
    decisions = decisions_for(ledger, node.name, freight)
    current = tally(policy, directory, freight, version, decisions, authors)
    if current.rejection is not None:
        return Review(Gate("approval", False, rejected_reason(current)), current, None)
    record = None
    if approve:
        if not approver:
            who = "user.email" if directory.configured else "user.name"
            reason = f"no approver known: pass --approver, or set `git config {who}` to record who approves"
            return Review(Gate("approval", False, reason), current, None)
        person = approver if policy.open else directory.identify(approver)
        if person is None:
            reason = f"'{approver}' is not a person listed in shipyard.yaml (people); only they decide on {node.name}"
            return Review(Gate("approval", False, reason), current, None)
        why = may_decide(policy, directory, person, "approve", current.authors)
        if why is not None:
            return Review(Gate("approval", False, why), current, None)
        if person not in current.approved_by:
            mine = Decision(person, node.name, freight, version, "approve", source_commit=source_commit)
            current = tally(policy, directory, freight, version, [*decisions, mine], current.authors)
            # Without people there is nobody to identify: the promotion commit alone records the name.
            record = None if policy.open else mine
    if current.satisfied:
        return Review(Gate("approval", True, current.summary()), current, record)
    if approve:
        reason = (
            f"{current.summary()}; {node.name} needs {current.missing} more approval"
            f"{'s' if current.missing != 1 else ''} from: {policy.description}"
        )
    elif current.approvals:
        reason = f"{node.name} is a manual stage: {current.summary()}; pass --approve to add yours"
    else:
        reason = f"{node.name} is a manual stage: pass --approve to promote"
    return Review(Gate("approval", False, reason), current, record)


def rejected_reason(counted: Tally) -> str:
    """Why a rejected freight is refused: who rejected it, when, and their comment's first line."""
    rejection = counted.rejection
    assert rejection is not None
    when = f" on {rejection.when}" if rejection.when else ""
    why = f" ({rejection.comment.splitlines()[0]})" if rejection.comment else ""
    return (
        f"{rejection.person} rejected {counted.version} ({counted.freight[:12]}) for {counted.policy.stage}{when}"
        f"{why}: this freight will not enter {counted.policy.stage}; a new freight (a new build) may"
    )


def recorded(review_: Review, decision: Decision, commit: str | None) -> Review:
    """``review_``, counted after ``decision`` was committed as ``commit`` (None: it was there already);
    its gate says so, and nothing is left to record."""
    gate = review_.gate
    if commit is not None:
        gate = replace(gate, reason=f"{decision.person}'s approval recorded in {commit[:12]}; {gate.reason}")
    return replace(review_, gate=gate, record=None)


class DecisionRefused(ShipyardError):
    """The config repo changed while a decision was being recorded, so that it may no longer be made."""

    exit_code = 1


def commit_decision(checkout: Path, decision: Decision) -> str | None:
    """Commit ``decision`` to the config repo's branch in ``checkout`` (a scratch clone) and push it.

    Returns the commit, or None when the same person's same decision is already recorded (so running a
    command twice records it once). Decided again on the newest tip after a lost push race: an approval
    is refused (DecisionRefused) once a rejection of the freight has landed.
    """

    def apply(tree: Path) -> str | None:
        ledger = Ledger.read(Git(tree), "HEAD")
        for earlier in decisions_for(ledger, decision.stage, decision.freight):
            if earlier.person == decision.person and earlier.decision == decision.decision:
                return None
            if earlier.decision == "reject" and decision.decision == "approve":
                raise DecisionRefused(
                    f"{earlier.person} rejected {decision.version} for {decision.stage} meanwhile "
                    f"({(earlier.commit or '')[:12]}); the approval was not recorded"
                )
        return decision.message()

    return publish(checkout, apply, decision.trailers(), allow_empty=True)
