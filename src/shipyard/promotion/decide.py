"""Deciding on freight for a manual stage without promoting it, and what waits for decisions.

``decide`` records one approval or rejection as a commit in the config repo (``shipyard approvals
approve|reject``, and the web service's buttons); ``promote --approve`` records an approval the same way
and then promotes once enough are recorded. ``approval_queue`` lists, for every manual stage, the freight
waiting for it and the decisions recorded so far (``shipyard approvals list``, ``status``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shipyard.configrepo.checkout import scratch_clone
from shipyard.configrepo.location import BRANCH, REMOTE
from shipyard.git import Git
from shipyard.plan import Op, Plan
from shipyard.promotion.approvals import (
    Decision,
    Tally,
    clean_comment,
    commit_decision,
    decision_version,
    decisions_for,
    may_decide,
    rejected_reason,
    tally,
)
from shipyard.promotion.authors import known_authors
from shipyard.promotion.executor import resolve
from shipyard.promotion.gates import Gate, GateRefused, maturity_gate, pending
from shipyard.promotion.ledger import DecisionKind, Ledger
from shipyard.promotion.people import Directory, policy_for
from shipyard.spec.model import Platform
from shipyard.stages.graph import build_graph


@dataclass
class Decided:
    """What ``decide`` did (or would do): the decision, the plan, the commit, and the count after it."""

    decision: Decision
    tally: Tally
    plan: Plan
    commit: str | None = None
    dry_run: bool = False

    def to_json(self) -> dict[str, object]:
        """As JSON (see docs/promotion.md)."""
        return {
            "dryRun": self.dry_run,
            "decision": self.decision.to_json(),
            "commit": self.commit,
            "approval": self.tally.to_json(),
            "plan": self.plan.to_json(),
        }


def _refused(stage: str, reason: str) -> GateRefused:
    return GateRefused(stage, [Gate("approval", False, reason)])


def decide(
    platform: Platform,
    url: str,
    stage: str,
    decision: DecisionKind,
    approver: str | None,
    *,
    freight: str | None = None,
    version: str | None = None,
    comment: str | None = None,
    app_repo: Path | None = None,
    dry_run: bool = False,
) -> Decided:
    """Record ``approver``'s ``decision`` on a freight (by id or version) for the manual ``stage``.

    ``approver`` is a person's id or email (any name when the spec lists no people). GateRefused (exit 1)
    when they may not decide, the freight cannot enter the stage, was rejected, or already ran there;
    ShipyardError (exit 2) for a stage or freight that does not exist. Recording the same person's same
    decision twice changes nothing."""
    graph = build_graph(platform)
    node = graph.stage(stage)
    text = clean_comment(comment)
    if node.auto:
        raise _refused(stage, f"{stage} promotes automatically: there is nothing to {decision}")
    policy = policy_for(platform, stage)
    directory = Directory.of(platform)
    verb = "approve" if decision == "approve" else "reject"
    plan = Plan(command=f"shipyard approvals {verb} --to {stage}")
    with scratch_clone(url) as checkout:
        ledger = Ledger.read(Git(checkout), BRANCH)
        chosen = resolve(node, checkout, ledger, freight, version)
        maturity = maturity_gate(node, chosen.id, chosen.version)
        if not maturity.passed:
            raise GateRefused(stage, [maturity])
        if chosen.id in ledger.held(stage):
            raise _refused(stage, f"{stage} has run {chosen.version} ({chosen.short_id}) already: nothing to decide")
        named = decision_version(node, chosen.version, platform.versioning.tag_prefix)
        person = (approver or None) if policy.open else directory.identify(approver)
        if person is None:
            reason = (
                f"'{approver}' is not a person listed in shipyard.yaml (people); only they decide on {stage}"
                if approver
                else "no approver known: pass --approver, or set `git config user.email`"
            )
            raise _refused(stage, reason)
        authors = known_authors(chosen.authors or (), chosen.source_commit, app_repo)
        why = may_decide(policy, directory, person, decision, authors)
        if why is not None:
            raise _refused(stage, why)
        earlier = decisions_for(ledger, stage, chosen.id)
        before = tally(policy, directory, chosen.id, named, earlier, authors)
        if decision == "approve" and before.rejection is not None:
            raise _refused(stage, rejected_reason(before))
        mine = Decision(person, stage, chosen.id, named, decision, text, source_commit=chosen.source_commit)
        outcome = Decided(mine, before, plan, dry_run=dry_run)
        if any(d.person == person and d.decision == decision for d in earlier):
            done = "approved" if decision == "approve" else "rejected"
            plan.notes.append(f"{person} has {done} {named} for {stage} already")
            return outcome
        plan.add(Op.commit, BRANCH, mine.subject, freight=chosen.id, person=person)
        plan.add(Op.push, f"{REMOTE}/{BRANCH}")
        if dry_run:
            outcome.tally = tally(policy, directory, chosen.id, named, [*earlier, mine], authors)
            return outcome
        outcome.commit = commit_decision(checkout, mine)
        after = decisions_for(Ledger.read(Git(checkout), BRANCH), stage, chosen.id)
        outcome.tally = tally(policy, directory, chosen.id, named, after, authors)
        recorded = next((d for d in reversed(after) if d.commit == outcome.commit), None)
        outcome.decision = recorded or mine
        return outcome


@dataclass(frozen=True)
class Queue:
    """Freight waiting for decisions on manual stages, each with its count so far."""

    waiting: list[Tally]

    def for_stage(self, stage: str) -> list[Tally]:
        """The entries of one stage."""
        return [t for t in self.waiting if t.policy.stage == stage]

    def to_json(self) -> list[dict[str, object]]:
        """As JSON (see docs/promotion.md)."""
        return [t.to_json() for t in self.waiting]


def approval_queue(platform: Platform, ledger: Ledger, app_repo: Path | None = None) -> Queue:
    """For every manual stage: every freight with decisions recorded that the stage has not run (in the
    order of their first decision), then the freight waiting to enter it as ``status`` shows it; each
    counted under today's rules. The source commit's authors come from the freight records and
    ``app_repo``."""
    graph = build_graph(platform)
    directory = Directory.of(platform)
    records = {e.freight: e for e in ledger.recorded()}
    waiting: list[Tally] = []
    for node in graph.stages:
        if node.auto:
            continue
        policy = policy_for(platform, node.name)
        held = ledger.held(node.name)
        wanted: dict[str, str] = {}
        for entry in ledger.decisions(node.name):
            if entry.freight not in held:
                wanted.setdefault(entry.freight, entry.version)
        candidate = pending(graph, ledger, node.name)
        if candidate is not None:
            named = decision_version(node, candidate.version, platform.versioning.tag_prefix)
            wanted.setdefault(candidate.freight, named)
        for freight, version in wanted.items():
            record = records.get(freight)
            authors = known_authors(
                record.authors if record else (), record.source_commit if record else None, app_repo
            )
            found = decisions_for(ledger, node.name, freight)
            waiting.append(tally(policy, directory, freight, version, found, authors))
    return Queue(waiting)
