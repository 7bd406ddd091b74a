"""Kargo's promotion steps as one registry: the local executor runs it, the Kargo render writes it.

A step is what Kargo calls it (``uses``, and ``as`` when later steps read its output), a typed config
(the models of ``k8s.kargo``, which Kargo's own JSON Schemas describe), ``to_kargo`` (the step of the
rendered PromotionTask) and ``run`` (the same step done here, against the config repo). Both take the
config from one function of :class:`Inputs`: the render passes Kargo expressions (``${{ vars.branch }}``),
the local executor the move's own values. So a promotion on a cluster and one run here go through the
same steps, in the same order, with the same config, and a run here acts on nothing but its config.

On a lost push race the local run fetches the newest tip and runs again from the first step that edits
(kustomize-set-image), so the edit is re-derived from the newest state; Kargo's ``git-push`` instead
rebases its commit and pushes again, which gives the same result for the one file a promotion edits.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from shipyard.configrepo.location import REMOTE
from shipyard.configrepo.promotable import KUSTOMIZATION, promotable_dir, promotable_path, set_images
from shipyard.git import Git, PushRejected, checkout_tip, outpushed
from shipyard.k8s.argocd import ARGOCD_NAMESPACE
from shipyard.k8s.base import K8sModel
from shipyard.k8s.kargo import (
    ArgoCDAppUpdate,
    ArgoCDUpdateConfig,
    GitCheckout,
    GitCloneConfig,
    GitCommitConfig,
    GitPushConfig,
    KustomizeImage,
    KustomizeSetImageConfig,
    PromotionStep,
)
from shipyard.promotion.argocd_sync import ArgoCDSync, SyncAnswer
from shipyard.retry import PUSH_RACE, GaveUp, Retrier, TryAgain

Config = TypeVar("Config", bound=K8sModel)


@dataclass(frozen=True)
class Inputs:
    """The values the steps' configs are made of: Kargo expressions in the render, a move's values here."""

    repo_url: str
    """The config repo."""
    branch: str
    """Its one branch: cloned, committed to, pushed."""
    checkout: str
    """Where ``git-clone`` puts the branch (Kargo: ``./out`` of the promotion's work folder)."""
    overlay: str
    """The stage's overlay folder under ``overlays/``: the environment's name."""
    images: tuple[KustomizeImage, ...]
    """Every image the freight moves, by digest, sorted by service."""
    message: str
    """The commit message, trailers included."""
    apps: tuple[str, ...]
    """The Argo CD Applications that deploy the stage: one per service the freight moves."""


@dataclass(frozen=True)
class StepRun:
    """One step as it ran here: its config (with the values it acted on) and what it did, in one line."""

    uses: str
    config: dict[str, Any]
    note: str

    def to_json(self) -> dict[str, object]:
        """The run as JSON (see docs/promotion.md)."""
        return {"uses": self.uses, "note": self.note}


@dataclass
class StepContext:
    """A local run: its inputs, and what the steps so far produced (``git-commit`` sets both fields)."""

    inputs: Inputs
    commit: str | None = None
    """The commit ``git-commit`` made, None when there was nothing to commit."""
    argocd: ArgoCDSync | None = None
    """Argo CD, when the platform runs on a cluster: ``argocd-update`` asks it to sync."""
    syncs: list[SyncAnswer] = field(default_factory=list)
    """What Argo CD answered to each sync ``argocd-update`` asked for."""


class Step(ABC, Generic[Config]):
    """One of Kargo's built-in promotion steps, rendered for Kargo and runnable here."""

    uses: ClassVar[str]
    """The step's name, as Kargo calls it."""
    alias: ClassVar[str | None] = None
    """Kargo's ``as``: the name later steps read this step's output by."""
    retried: ClassVar[bool] = False
    """Part of the stretch that runs again, on the newest tip, when the push loses a race."""

    @abstractmethod
    def config(self, inputs: Inputs) -> Config:
        """The step's config, made of ``inputs``."""

    @abstractmethod
    def perform(self, config: Config, ctx: StepContext) -> str:
        """Do the step here, as ``config`` says; return what was done, in one line."""

    def to_kargo(self, inputs: Inputs) -> PromotionStep:
        """The step as the rendered PromotionTask holds it."""
        return PromotionStep(uses=self.uses, as_=self.alias, config=self.config(inputs).to_dict())

    def run(self, ctx: StepContext) -> StepRun:
        """Run the step here with the config of the context's inputs."""
        config = self.config(ctx.inputs)
        return StepRun(self.uses, config.to_dict(), self.perform(config, ctx))


class GitCloneStep(Step[GitCloneConfig]):
    """``git-clone``: the config repo's branch, checked out at its newest tip."""

    uses = "git-clone"

    def config(self, inputs: Inputs) -> GitCloneConfig:
        """The repository and the branch to check out, and where."""
        return GitCloneConfig(
            repo_url=inputs.repo_url, checkout=[GitCheckout(branch=inputs.branch, path=inputs.checkout)]
        )

    def perform(self, config: GitCloneConfig, ctx: StepContext) -> str:
        """Reuse the scratch clone the gates read (it is a clone of the same repository): fetch the branch
        and check out its newest tip."""
        (checkout,) = config.checkout
        checkout_tip(Git(Path(checkout.path)), REMOTE, checkout.branch)
        return f"the scratch clone of {config.repo_url} is at the newest {checkout.branch}"


class KustomizeSetImageStep(Step[KustomizeSetImageConfig]):
    """``kustomize-set-image``: pin the freight's digests in the stage's promotable Component."""

    uses = "kustomize-set-image"
    alias = "update-images"
    retried = True

    def config(self, inputs: Inputs) -> KustomizeSetImageConfig:
        """The stage's promotable folder and the images, by digest."""
        return KustomizeSetImageConfig(
            path=f"{inputs.checkout}/{promotable_dir(inputs.overlay)}", images=list(inputs.images)
        )

    def perform(self, config: KustomizeSetImageConfig, ctx: StepContext) -> str:
        """Edit the kustomization in place (comments and layout kept); create it when it is missing."""
        folder = Path(config.path)
        changed = set_images(folder / KUSTOMIZATION, {i.image: i.digest for i in config.images})
        where = promotable_path(folder.parent.name)
        if not changed:
            return f"{where} already pins these digests"
        return f"pinned {len(config.images)} image(s) by digest in {where}"


class GitCommitStep(Step[GitCommitConfig]):
    """``git-commit``: commit the edit with Shipyard's trailers."""

    uses = "git-commit"
    alias = "commit"
    retried = True

    def config(self, inputs: Inputs) -> GitCommitConfig:
        """The clone and the message (the trailers are its last paragraph)."""
        return GitCommitConfig(path=inputs.checkout, message=inputs.message)

    def perform(self, config: GitCommitConfig, ctx: StepContext) -> str:
        """Commit every change in the clone; with none, stay at the tip (as Kargo's step does)."""
        git = Git(Path(config.path))
        ctx.commit = git.commit(config.message)
        if ctx.commit is None:
            return f"nothing to commit: the branch stays at {git.rev_parse('HEAD')[:12]}"
        return f"committed {ctx.commit[:12]}: {config.message.splitlines()[0]}"


class GitPushStep(Step[GitPushConfig]):
    """``git-push``: push the commit to the branch; a lost race is retried by :func:`run_steps`."""

    uses = "git-push"
    retried = True

    def config(self, inputs: Inputs) -> GitPushConfig:
        """The clone and the branch to push to."""
        return GitPushConfig(path=inputs.checkout, target_branch=inputs.branch)

    def perform(self, config: GitPushConfig, ctx: StepContext) -> str:
        """Push; PushRejected when another writer got there first."""
        if ctx.commit is None:
            return f"nothing to push: {config.target_branch} already holds this state"
        Git(Path(config.path)).push(REMOTE, [f"HEAD:refs/heads/{config.target_branch}"])
        return f"pushed {ctx.commit[:12]} to {config.target_branch}"


class ArgoCDUpdateStep(Step[ArgoCDUpdateConfig]):
    """``argocd-update``: sync every Application of the stage to the branch's newest tip.

    No ``desiredRevision``: the branch is shared (other stages, previews, freight records and render push
    to it), and Kargo's health check calls a Stage unhealthy as soon as the Application's synced revision
    is not exactly the desired commit, while its update re-syncs until they match. A sync started after
    the push resolves the branch then (Argo CD compares with no revision cache when it syncs), and the
    branch only moves forward, so what it deploys always holds this promotion's commit. Kargo refuses (and
    fails the promotion on) an Application named here that lacks its ``authorized-stage`` annotation, so
    none is skipped.
    """

    uses = "argocd-update"

    def config(self, inputs: Inputs) -> ArgoCDUpdateConfig:
        """The Applications to sync; they track the config repo's branch."""
        return ArgoCDUpdateConfig(apps=[ArgoCDAppUpdate(name=app, namespace=ARGOCD_NAMESPACE) for app in inputs.apps])

    def perform(self, config: ArgoCDUpdateConfig, ctx: StepContext) -> str:
        """Ask Argo CD to sync each Application, as Kargo does (``promotion.argocd_sync``), and check that what
        it synced holds this promotion's commit. Without a cluster, say that nothing was synced."""
        names = ", ".join(app.name for app in config.apps)
        git = Git(Path(ctx.inputs.checkout))
        commit = ctx.commit or git.rev_parse("HEAD")
        if ctx.argocd is None:
            held = f"which holds {ctx.commit[:12]}" if ctx.commit else "which already held this state"
            return (
                f"no Argo CD here, nothing synced: on a cluster Argo CD syncs {names} to the branch's newest tip, "
                f"{held}"
            )
        reason = f"shipyard: {ctx.inputs.message.splitlines()[0]}"
        for app in config.apps:
            answer = ctx.argocd.sync(app.name, reason, commit)
            if answer.revision:
                answer = replace(answer, holds_commit=_contains(git, commit, answer.revision))
            ctx.syncs.append(answer)
        return "; ".join(answer.line() for answer in ctx.syncs)


def _contains(git: Git, commit: str, revision: str) -> bool | None:
    """Whether ``revision`` (what Argo CD synced) has ``commit`` in its history; None when it cannot be told."""
    git.run("fetch", "--quiet", REMOTE, check=False)
    if git.execute("cat-file", "-e", f"{revision}^{{commit}}").returncode != 0:
        return None
    return git.execute("merge-base", "--is-ancestor", commit, revision).returncode == 0


PROMOTION_STEPS: tuple[Step[Any], ...] = (
    GitCloneStep(),
    KustomizeSetImageStep(),
    GitCommitStep(),
    GitPushStep(),
    ArgoCDUpdateStep(),
)
"""The steps of every promotion, in order: the rendered PromotionTask's and the local executor's."""


def run_steps(
    ctx: StepContext, steps: Sequence[Step[Any]] = PROMOTION_STEPS, *, retry: Retrier | None = None
) -> list[StepRun]:
    """Run ``steps`` here, in order; the runs of the last attempt.

    When a push is rejected (another writer pushed first), fetch the branch's newest tip and run again
    from the first retried step, so the edit is made anew on top of the other writer's commit and no
    update is lost. Lost races are retried under ``retry`` (default ``shipyard.retry.PUSH_RACE``); when
    they run out, a ShipyardError, and nothing was pushed.
    """
    first_retried = next((i for i, step in enumerate(steps) if step.retried), len(steps))
    # A PushRejected before the retried steps is not a race this loop can redo: it goes to the caller.
    runs = [step.run(ctx) for step in steps[:first_retried]]
    tries = 0

    def attempt() -> list[StepRun]:
        nonlocal tries
        tries += 1
        if tries > 1:  # after the wait: the newest tip, which the other writer's commit is part of
            checkout_tip(Git(Path(ctx.inputs.checkout)), REMOTE, ctx.inputs.branch)
        done: list[StepRun] = []
        for step in steps[first_retried:]:
            try:
                done.append(step.run(ctx))
            except PushRejected as exc:
                if not step.retried:
                    raise
                raise TryAgain(f"{step.uses}: another writer pushed first") from exc
        return done

    try:
        return runs + (retry or Retrier(PUSH_RACE)).call(attempt)
    except GaveUp as exc:
        raise outpushed(REMOTE, ctx.inputs.branch, exc.attempts) from None
