"""The local promotion executor: freight into a stage, automatic promotions, rollbacks, recording freight.

Each move runs the step registry of ``promotion.steps``, the very steps the rendered Kargo PromotionTask
lists: git-clone, kustomize-set-image (the stage's promotable Component, by digest), git-commit (with
Shipyard's trailers), git-push and argocd-update. On a lost push race the steps from kustomize-set-image
on run again on the newest tip, so concurrent promotions never lose an update.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from shipyard.configrepo.checkout import publish, scratch_clone
from shipyard.configrepo.location import BRANCH, REMOTE
from shipyard.configrepo.promotable import promotable_path
from shipyard.errors import ShipyardError
from shipyard.git import Git, format_message
from shipyard.k8s.argocd import application_name
from shipyard.k8s.kargo import KustomizeImage
from shipyard.plan import Op, Plan
from shipyard.promotion.approvals import (
    Review,
    Tally,
    clean_comment,
    commit_decision,
    decision_version,
    recorded,
    review,
)
from shipyard.promotion.argocd_sync import ArgoCDSync, SyncAnswer
from shipyard.promotion.authors import known_authors
from shipyard.promotion.freight import Freight, all_freight, find_freight, freight_path
from shipyard.promotion.gates import (
    Gate,
    GateRefused,
    maturity_gate,
    pending,
    stable_tag,
    stable_tag_gate,
    upstream_gate,
)
from shipyard.promotion.ledger import ROLLBACK_SUBJECT, Entry, Ledger
from shipyard.promotion.steps import Inputs, StepContext, StepRun, run_steps
from shipyard.promotion.tags import TagLookup
from shipyard.promotion.vulngate import vulnerability_gate
from shipyard.spec.model import Platform
from shipyard.stages.graph import StageNode, build_graph
from shipyard.versioning.tags import parse_tag, try_parse_tag


@dataclass
class Move:
    """One promotion or rollback: what goes where, why it may, and what happened."""

    stage: str
    freight: str
    version: str
    images: dict[str, tuple[str, str]]
    """service -> (repository, digest)."""
    source_commit: str | None = None
    pr: str | None = None
    approved_by: str | None = None
    gates: list[Gate] = field(default_factory=list)
    rollback: bool = False
    commit: str | None = None
    changed: bool = False
    steps: list[StepRun] = field(default_factory=list)
    """The promotion steps as they ran (none on a dry run)."""
    syncs: list[SyncAnswer] = field(default_factory=list)
    """What Argo CD answered to the syncs ``argocd-update`` asked for (none without a cluster)."""
    approval: Tally | None = None
    """The decisions counted for a manual stage; its approvers are the commit's ``Shipyard-Approved-By``."""
    review: Review | None = field(default=None, repr=False)

    @property
    def subject(self) -> str:
        """The commit's subject line."""
        if self.rollback:
            return f"{ROLLBACK_SUBJECT}{self.stage} to {self.version}"
        return f"Promote {self.version} to {self.stage}"

    def trailers(self) -> list[tuple[str, str]]:
        """Shipyard's trailers: the freight, the stage, who approved, then each service and its digest."""
        found = [("Shipyard-Freight", self.freight), ("Shipyard-Version", self.version), ("Shipyard-Stage", self.stage)]
        if self.source_commit:
            found.append(("Shipyard-Source-Commit", self.source_commit))
        if self.pr:
            found.append(("Shipyard-PR", self.pr))
        approvers = self.approval.approved_by if self.approval is not None else ()
        for name in approvers or ((self.approved_by,) if self.approved_by else ()):
            found.append(("Shipyard-Approved-By", name))
        for service, (_, digest) in sorted(self.images.items()):
            found += [("Shipyard-Service", service), ("Shipyard-Digest", digest)]
        return found

    def plan(self, plan: Plan) -> None:
        """Add this move's actions to ``plan``."""
        plan.add(
            Op.update,
            promotable_path(self.stage),
            f"{self.stage} -> {self.version}",
            images=[f"{image}@{digest}" for _, (image, digest) in sorted(self.images.items())],
        )
        plan.add(Op.commit, BRANCH, self.subject, freight=self.freight, approvedBy=self.approved_by)
        plan.add(Op.push, f"{REMOTE}/{BRANCH}")

    def to_json(self) -> dict[str, object]:
        """The move as JSON (see docs/promotion.md)."""
        return {
            "stage": self.stage,
            "freight": self.freight,
            "version": self.version,
            "rollback": self.rollback,
            "images": {s: {"image": i, "digest": d} for s, (i, d) in sorted(self.images.items())},
            "sourceCommit": self.source_commit,
            "pr": self.pr,
            "approvedBy": self.approved_by,
            "approval": self.approval.to_json() if self.approval is not None else None,
            "gates": [g.to_json() for g in self.gates],
            "commit": self.commit,
            "changed": self.changed,
            "steps": [run.to_json() for run in self.steps],
            "sync": [answer.to_json() for answer in self.syncs],
        }

    def inputs(self, platform: Platform, url: str, checkout: Path) -> Inputs:
        """The values of this move's promotion steps: the config repo, the stage, the digests, the message."""
        return Inputs(
            repo_url=url,
            branch=BRANCH,
            checkout=str(checkout),
            overlay=self.stage,
            images=tuple(
                KustomizeImage(image=image, digest=digest) for _, (image, digest) in sorted(self.images.items())
            ),
            message=format_message(self.subject, self.trailers()),
            apps=tuple(application_name(service, self.stage) for service in sorted(self.images)),
        )


def approver_name(cwd: Path, given: str | None = None) -> str | None:
    """Who rolls back: ``given`` (the CLI reads SHIPYARD_APPROVER), else ``git config user.name`` where the
    command runs. Approvals identify people instead (``promotion.people.approver_text``)."""
    named = " ".join((given or "").split())  # one line: it becomes a trailer
    if named:
        return named
    return Git(cwd).run("config", "user.name", check=False).strip() or None


def _images(freight: Freight) -> dict[str, tuple[str, str]]:
    return {service: (img.image, img.digest) for service, img in freight.images.items()}


def resolve(node: StageNode, checkout: Path, ledger: Ledger, freight: str | None, version: str | None) -> Freight:
    """The freight asked for. For a stage fed beta freight that accepts stable versions (production),
    ``--version v1.2.0`` means the newest freight of release 1.2.0 that passed the upstream stage."""
    wanted = try_parse_tag(version) if version else None
    if wanted is not None and node.requires_stable_tag and wanted.maturity == "stable":
        passed = [
            f
            for f in all_freight(checkout)
            if f.semver.core == wanted.core
            and f.maturity == node.origin.value
            and node.upstream is not None
            and ledger.passed(f.id, node.upstream)
        ]
        if passed:
            return passed[-1]
        raise GateRefused(
            node.name,
            [
                Gate(
                    "upstream",
                    False,
                    f"no {node.origin.value} freight of release {wanted.base} has passed {node.upstream}",
                )
            ],
        )
    if freight is None and version is None:
        raise ShipyardError("name the freight: --freight ID or --version V")
    return find_freight(checkout, freight=freight, version=version)


def check(
    platform: Platform,
    node: StageNode,
    ledger: Ledger,
    freight: Freight,
    tags: TagLookup,
    approve: bool,
    approver: str | None,
    authors: tuple[str, ...] = (),
) -> Move:
    """Every gate of ``node`` for ``freight``; the move it would make (its gates say whether it may).

    ``authors`` wrote the freight's source commit (the four-eyes rule); the freight's own record counts too.
    """
    gates = [maturity_gate(node, freight.id, freight.version), upstream_gate(node, ledger, freight.id, freight.version)]
    version = freight.version
    if node.requires_stable_tag:
        prefix = platform.versioning.tag_prefix
        gates.append(stable_tag_gate(node, _images(freight), freight.version, tags, prefix))
        # What runs there is the release: record its stable version, the freight id says which build it is.
        version = stable_tag(freight.version, prefix)
    move = Move(
        stage=node.name,
        freight=freight.id,
        version=version,
        images=_images(freight),
        source_commit=freight.source_commit,
        pr=str(freight.pr) if freight.pr is not None else None,
        gates=gates,
    )
    verdict = review(
        platform,
        node,
        ledger,
        freight.id,
        decision_version(node, freight.version, platform.versioning.tag_prefix),
        approve=approve,
        approver=approver,
        authors=(*(freight.authors or ()), *authors),
        source_commit=freight.source_commit,
    )
    _set_review(move, verdict)
    return move


def _set_review(move: Move, verdict: Review) -> None:
    """Put the approval gate's verdict on ``move``: its gate (in place of an earlier one), its tally, who approved."""
    names = [g.name for g in move.gates]
    if "approval" in names:
        move.gates[names.index("approval")] = verdict.gate
    else:
        move.gates.append(verdict.gate)
    move.review = verdict
    move.approval = verdict.tally
    move.approved_by = ", ".join(verdict.approvers) or None


def _record_approval(
    platform: Platform, node: StageNode, checkout: Path, move: Move, plan: Plan, dry_run: bool, comment: str
) -> None:
    """Commit the runner's approval before the promotion, once every other gate has passed; then count
    again on the newest tip, where other approvals may have landed meanwhile."""
    verdict = move.review
    if verdict is None or verdict.record is None or not all(g.passed for g in move.gates if g.name != "approval"):
        return
    decision = replace(verdict.record, comment=comment)
    plan.add(Op.commit, BRANCH, decision.subject, freight=decision.freight, approvedBy=decision.person)
    plan.add(Op.push, f"{REMOTE}/{BRANCH}")
    if dry_run:
        return
    commit = commit_decision(checkout, decision)
    ledger = Ledger.read(Git(checkout), BRANCH)
    again = review(
        platform,
        node,
        ledger,
        decision.freight,
        decision.version,
        approve=True,
        approver=decision.person,
        authors=verdict.tally.authors if verdict.tally is not None else (),
        source_commit=decision.source_commit,
    )
    _set_review(move, recorded(again, decision, commit))


def execute(platform: Platform, url: str, checkout: Path, move: Move, argocd: ArgoCDSync | None = None) -> Move:
    """Run the promotion steps for ``move`` in ``checkout``, a scratch clone of ``url``; with ``argocd``, its
    ``argocd-update`` asks the cluster's Argo CD to sync."""
    ctx = StepContext(move.inputs(platform, url, checkout), argocd=argocd)
    move.steps = run_steps(ctx)
    move.commit = ctx.commit
    move.changed = move.commit is not None
    move.syncs = ctx.syncs
    return move


@dataclass
class Outcome:
    """What a promote, auto or rollback command did (or would do, on a dry run)."""

    plan: Plan
    moves: list[Move] = field(default_factory=list)
    dry_run: bool = False

    @property
    def synced(self) -> bool:
        """False when Argo CD was asked to sync and did not deploy the promotion."""
        return all(answer.ok for move in self.moves for answer in move.syncs)

    def to_json(self) -> dict[str, object]:
        """The outcome as JSON (see docs/promotion.md)."""
        return {
            "dryRun": self.dry_run,
            "moves": [m.to_json() for m in self.moves],
            "plan": self.plan.to_json(),
        }


def promote(
    platform: Platform,
    url: str,
    stage: str,
    tags: TagLookup,
    *,
    freight: str | None = None,
    version: str | None = None,
    approve: bool = False,
    approver: str | None = None,
    dry_run: bool = False,
    harbor_credentials: tuple[str, str] | None = None,
    argocd: ArgoCDSync | None = None,
    app_repo: Path | None = None,
    comment: str | None = None,
) -> Outcome:
    """Promote one freight into ``stage``; GateRefused (exit 1) when a gate says no.

    ``harbor_credentials`` read Harbor's vulnerability reports before a manual stage. For a manual stage
    with people listed, ``approve`` first records ``approver``'s approval (a commit), and the promotion
    follows once the stage's required approvals are recorded, ``comment`` with it. ``app_repo`` is the
    application repository whose history names the source commit's authors (the four-eyes rule)."""
    graph = build_graph(platform)
    node = graph.stage(stage)
    text = clean_comment(comment)
    outcome = Outcome(plan=Plan(command=f"shipyard promote --to {stage}"), dry_run=dry_run)
    with scratch_clone(url) as checkout:
        ledger = Ledger.read(Git(checkout), BRANCH)
        chosen = resolve(node, checkout, ledger, freight, version)
        authors = known_authors((), chosen.source_commit, app_repo) if not node.auto else ()
        move = check(platform, node, ledger, chosen, tags, approve, approver, authors)
        if (
            scan := vulnerability_gate(platform, node, move.images, credentials=harbor_credentials)
        ) is not None:  # manual stages: Harbor's reports
            move.gates.append(scan)
        _record_approval(platform, node, checkout, move, outcome.plan, dry_run, text)
        if not all(g.passed for g in move.gates):
            raise GateRefused(stage, move.gates)
        move.plan(outcome.plan)
        outcome.moves.append(move)
        if not dry_run:
            execute(platform, url, checkout, move, argocd)
            if not move.changed:
                outcome.plan.notes.append(f"{stage} already runs {move.version}: nothing to change")
    return outcome


def promote_auto(
    platform: Platform, url: str, tags: TagLookup, *, dry_run: bool = False, argocd: ArgoCDSync | None = None
) -> Outcome:
    """New freight into every auto stage whose upstream has it, in graph order (dev, then staging)."""
    graph = build_graph(platform)
    outcome = Outcome(plan=Plan(command="shipyard promote --auto"), dry_run=dry_run)
    with scratch_clone(url) as checkout:
        ledger = Ledger.read(Git(checkout), BRANCH)
        known = {f.id: f for f in all_freight(checkout)}
        for node in graph.stages:
            if not node.auto:
                continue
            candidate = pending(graph, ledger, node.name)
            if candidate is None or candidate.freight not in known:
                continue
            move = check(platform, node, ledger, known[candidate.freight], tags, False, None)
            if not all(g.passed for g in move.gates):
                outcome.plan.notes.append(
                    f"{node.name}: {candidate.version} waits: "
                    + "; ".join(g.reason for g in move.gates if not g.passed)
                )
                continue
            move.plan(outcome.plan)
            outcome.moves.append(move)
            if dry_run:
                # Later stages see this move as done, so the dry run shows the whole chain.
                ledger = Ledger([*ledger.entries, _as_entry(move)])
            else:
                execute(platform, url, checkout, move, argocd)
                ledger = Ledger.read(Git(checkout), BRANCH)
    return outcome


def _as_entry(move: Move) -> Entry:
    return Entry(
        commit="(dry run)",
        author="",
        date="",
        subject=move.subject,
        kind="promotion",
        freight=move.freight,
        version=move.version,
        stage=move.stage,
        images=tuple((s, d) for s, (_, d) in sorted(move.images.items())),
    )


def rollback(
    platform: Platform,
    url: str,
    env: str,
    *,
    to: str | None = None,
    actor: str | None = None,
    dry_run: bool = False,
    argocd: ArgoCDSync | None = None,
) -> Outcome:
    """Return ``env`` to an earlier freight it ran (the previous one, or the one of version ``to``); with
    ``argocd``, the environment's Applications are synced to it as a promotion's are."""
    graph = build_graph(platform)
    graph.stage(env)
    outcome = Outcome(plan=Plan(command=f"shipyard rollback --env {env}"), dry_run=dry_run)
    with scratch_clone(url) as checkout:
        ledger = Ledger.read(Git(checkout), BRANCH)
        moves = ledger.moves(env)
        if not moves:
            raise ShipyardError(f"{env} has never been promoted to: nothing to roll back to")
        current = moves[-1]
        target = _rollback_target(env, moves, current, to)
        state = _state_after(moves, target, platform)
        move = Move(
            stage=env,
            freight=target.freight,
            version=target.version,
            images=state,
            source_commit=target.source_commit,
            pr=target.pr,
            approved_by=actor,
            rollback=True,
            gates=[Gate("history", True, f"{env} ran {target.version} from {target.date} ({target.commit[:12]})")],
        )
        move.plan(outcome.plan)
        outcome.moves.append(move)
        if not dry_run:
            execute(platform, url, checkout, move, argocd)
    return outcome


def _rollback_target(env: str, moves: list[Entry], current: Entry, to: str | None) -> Entry:
    if to is None:
        earlier = [m for m in moves if m.freight != current.freight]
        if not earlier:
            raise ShipyardError(f"{env} has run only {current.version}: there is no earlier freight to return to")
        return earlier[-1]
    wanted = try_parse_tag(to)
    matches = [m for m in moves if wanted is not None and try_parse_tag(m.version) == wanted]
    if not matches:
        ran = sorted({m.version for m in moves}, key=parse_tag)
        raise ShipyardError(f"{env} never ran {to}; it ran: {', '.join(ran)}")
    if matches[-1].freight == current.freight and try_parse_tag(current.version) == wanted:
        raise ShipyardError(f"{env} already runs {to}")
    return matches[-1]


def _state_after(moves: list[Entry], target: Entry, platform: Platform) -> dict[str, tuple[str, str]]:
    """Every service's image in the environment right after ``target`` was applied."""
    state: dict[str, tuple[str, str]] = {}
    for entry in moves:
        for service, digest in entry.images:
            state[service] = (platform.registry.image(service), digest)
        if entry is target:
            break
    return state


def record_freight(url: str, freight: Freight, *, dry_run: bool = False) -> tuple[Plan, str | None]:
    """Write ``freight/<version>.yaml`` and push it with trailers; recording the same freight twice is a no-op.

    Returns the plan and the pushed commit (None when nothing changed or on a dry run).
    """
    plan = Plan(command=f"shipyard freight add --version {freight.version}")
    path = freight_path(freight.version)
    with scratch_clone(url) as checkout:
        existing = checkout / path
        if existing.exists():
            known = find_freight(checkout, version=freight.version)
            if known.id != freight.id:
                raise ShipyardError(
                    f"freight {freight.version} is already recorded with other artifacts ({known.short_id})",
                    hint="versions never move: build a new version instead",
                )
            plan.notes.append(f"freight {freight.version} ({freight.short_id}) is already recorded")
            return plan, None
        plan.add(Op.create, path, f"freight {freight.short_id}")
        plan.add(Op.commit, BRANCH, f"Record freight {freight.version}", freight=freight.id)
        plan.add(Op.push, f"{REMOTE}/{BRANCH}")
        if dry_run:
            return plan, None
        trailers = [("Shipyard-Freight", freight.id), ("Shipyard-Version", freight.version)]
        if freight.source_commit:
            trailers.append(("Shipyard-Source-Commit", freight.source_commit))
        trailers += [("Shipyard-Source-Author", email) for email in freight.authors or []]
        if freight.pr is not None:
            trailers.append(("Shipyard-PR", str(freight.pr)))
        for service, img in sorted(freight.images.items()):
            trailers += [("Shipyard-Service", service), ("Shipyard-Digest", img.digest)]

        def apply(tree: Path) -> str | None:
            target = tree / path
            if target.exists():
                if target.read_text(encoding="utf-8") != freight.to_yaml():
                    raise ShipyardError(f"freight {freight.version} was just recorded by another writer, differently")
                return None
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(freight.to_yaml(), encoding="utf-8")
            return f"Record freight {freight.version}"

        return plan, publish(checkout, apply, trailers)
