"""The local executor runs the step registry for real: on a scaffolded platform's own config repo (a bare
git repository), each step of the rendered Kargo PromotionTask runs, in order, with a config Kargo's schema
accepts; the commit it pushes carries the trailers Kargo's git-commit template writes for the same freight;
a push that loses a race is redone on the newest tip from kustomize-set-image on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shipyard.configrepo.checkout import scratch_clone
from shipyard.configrepo.promotable import read_images
from shipyard.errors import ShipyardError
from shipyard.git import Git, parse_trailers
from shipyard.k8s.base import K8sModel
from shipyard.k8s.schemas import SchemaSet, load_schemas
from shipyard.promotion.executor import Move, promote, record_freight
from shipyard.promotion.freight import FreightImage, make_freight
from shipyard.promotion.steps import PROMOTION_STEPS, Inputs, Step, StepContext, run_steps
from shipyard.promotion.tags import StoreTags
from shipyard.registry.stores import Stores
from shipyard.retry import Policy, Retrier
from shipyard.spec.loader import load_spec
from shipyard.spec.model import Platform
from tests.kargo_context import kargo_commit_message, promote_as_kargo, rendered
from tests.realparts import need_reference

pytestmark = pytest.mark.integration

ALPHA = "v1.2.0-alpha.20261125093000"
BETA = "v1.2.0-beta.1"
# What the local executor knows and Kargo's promotion context does not: the freight's source commit and
# pull request, and who approved.
LOCAL_ONLY = {"Shipyard-Source-Commit", "Shipyard-PR", "Shipyard-Approved-By"}


def digest(n: int) -> str:
    return "sha256:" + f"{n:x}" * 64


@pytest.fixture(scope="module")
def schemas() -> SchemaSet:
    return load_schemas(need_reference("kargo-schemas"))


@pytest.fixture
def platform(acme: Path) -> Platform:
    return load_spec(acme / "shipyard.yaml")


@pytest.fixture
def remote(acme: Path) -> str:
    return str(acme / ".shipyard" / "gitops-config.git")


@pytest.fixture
def tags(acme: Path, platform: Platform) -> Iterator[StoreTags]:
    found = StoreTags(Stores.for_platform(platform, acme))
    yield found
    found.close()


def services(acme: Path) -> list[str]:
    return rendered(acme)[2]


def record(platform: Platform, remote: str, version: str, names: list[str]) -> dict[str, tuple[str, str]]:
    """Record a freight of ``names`` at ``version``; service -> (tag, digest), as Kargo's freight holds them."""
    images = {s: FreightImage(image=platform.registry.image(s), digest=digest(n + 1)) for n, s in enumerate(names)}
    record_freight(remote, make_freight(version, images, {}, source_commit="abc1234def", pr=42))
    return {s: (version, image.digest) for s, image in images.items()}


@pytest.mark.parametrize(("stage", "version", "approve"), [("dev", ALPHA, False), ("uat", BETA, True)])
def test_a_promotion_runs_every_step_of_the_rendered_task(
    acme: Path,
    platform: Platform,
    remote: str,
    tags: StoreTags,
    schemas: SchemaSet,
    stage: str,
    version: str,
    approve: bool,
) -> None:
    task, stages, names, image_base = rendered(acme)
    freight = record(platform, remote, version, names)
    outcome = promote(platform, remote, stage, tags, version=version, approve=approve, approver="Riley Release")

    (move,) = outcome.moves
    assert [run.uses for run in move.steps] == [step["uses"] for step in task["spec"]["steps"]]
    for run in move.steps:
        validator = schemas.steps[run.uses]
        assert [e.message for e in validator.iter_errors(run.config)] == [], run.uses
    notes = {run.uses: run.note for run in move.steps}
    assert notes["argocd-update"].startswith("no Argo CD here, nothing synced")
    assert move.commit is not None and move.commit[:12] in notes["argocd-update"]
    assert json.dumps(move.to_json()["steps"])  # what ran is part of the JSON output

    # The pushed commit: the local subject, and Kargo's trailers for the same freight plus what only we know.
    config = Git(Path(remote))
    pushed = config.run("log", "-1", "--format=%H%n%B", "main")
    commit, message = pushed.split("\n", 1)
    assert commit == move.commit and message.startswith(f"Promote {version} to {stage}\n")
    kargo = parse_trailers(kargo_commit_message(promote_as_kargo(task, stages[stage], freight, image_base)))
    local = parse_trailers(message)
    kargo = [(key, move.freight if key == "Shipyard-Freight" else value) for key, value in kargo]  # Kargo names its own
    assert [(key, value) for key, value in local if key not in LOCAL_ONLY] == kargo
    assert (("Shipyard-Approved-By", "Riley Release") in local) == approve

    # kustomize-set-image pinned every digest in the stage's promotable file.
    with scratch_clone(remote) as checkout:
        pinned = read_images(checkout / "overlays" / stage / "images" / "kustomization.yaml")
    assert pinned == {platform.registry.image(s): d for s, (_, d) in freight.items()}


def test_a_promotion_run_twice_says_what_each_step_found(
    acme: Path, platform: Platform, remote: str, tags: StoreTags
) -> None:
    record(platform, remote, ALPHA, services(acme))
    promote(platform, remote, "dev", tags, version=ALPHA)
    (again,) = promote(platform, remote, "dev", tags, version=ALPHA).moves
    notes = {run.uses: run.note for run in again.steps}
    assert not again.changed and list(notes) == [step.uses for step in PROMOTION_STEPS]
    assert "already pins these digests" in notes["kustomize-set-image"]
    assert notes["git-commit"].startswith("nothing to commit") and notes["git-push"].startswith("nothing to push")
    assert notes["argocd-update"].startswith("no Argo CD here")


class Interloper(K8sModel):
    """The config of a step that plays another writer (no Kargo step: it exists only in these tests)."""

    path: str


class AnotherWriter(Step[Interloper]):
    """Pushes a commit of its own to the config repo before our push, the first ``times`` times it runs."""

    uses = "another-writer"
    retried = True

    def __init__(self, remote: str, times: int) -> None:
        self.remote, self.times, self.pushed = remote, times, 0

    def config(self, inputs: Inputs) -> Interloper:
        return Interloper(path=inputs.checkout)

    def perform(self, config: Interloper, ctx: StepContext) -> str:
        if self.pushed >= self.times:
            return "let it be"
        self.pushed += 1
        with scratch_clone(self.remote) as other:
            (other / f"other-{self.pushed}.txt").write_text("theirs\n")
            git = Git(other)
            git.commit(f"Another writer {self.pushed}")
            git.push("origin", ["HEAD:refs/heads/main"])
        return f"pushed another commit ({self.pushed})"


def racing_steps(remote: str, times: int) -> tuple[Step[Any], ...]:
    *before, push, argocd = PROMOTION_STEPS
    return (*before, AnotherWriter(remote, times), push, argocd)


def test_a_lost_push_race_is_redone_from_kustomize_set_image_on_the_newest_tip(
    acme: Path, platform: Platform, remote: str
) -> None:
    names = services(acme)
    move = Move(
        stage="dev", freight="f" * 40, version=ALPHA, images={s: (platform.registry.image(s), digest(7)) for s in names}
    )
    steps = racing_steps(remote, times=2)
    with scratch_clone(remote) as checkout:
        ctx = StepContext(move.inputs(platform, remote, checkout))
        runs = run_steps(ctx, steps)
    assert [run.uses for run in runs] == [step.uses for step in steps]
    assert runs[-2].note.startswith("pushed") and ctx.commit is not None
    config = Git(Path(remote))
    log = config.run("log", "--format=%s", "main").splitlines()
    assert log[:3] == [move.subject, "Another writer 2", "Another writer 1"]  # ours, made again on their tip
    assert config.run("rev-parse", "main").strip() == ctx.commit
    with scratch_clone(remote) as checkout:
        assert (checkout / "other-2.txt").exists()
        assert read_images(checkout / "overlays/dev/images/kustomization.yaml") == {
            platform.registry.image(s): digest(7) for s in names
        }


def test_writers_that_keep_winning_end_in_an_error_and_nothing_of_ours_is_pushed(
    acme: Path, platform: Platform, remote: str
) -> None:
    names = services(acme)
    move = Move(
        stage="dev", freight="f" * 40, version=ALPHA, images={s: (platform.registry.image(s), digest(7)) for s in names}
    )
    sleeps: list[float] = []
    retry = Retrier(Policy(attempts=3, base=0.5, cap=1.0, max_wait=1.0, max_total=5.0), sleep=sleeps.append)
    with scratch_clone(remote) as checkout, pytest.raises(ShipyardError, match="after 3 attempts: other writers"):
        run_steps(StepContext(move.inputs(platform, remote, checkout)), racing_steps(remote, times=99), retry=retry)
    assert Git(Path(remote)).run("log", "-1", "--format=%s", "main").strip() == "Another writer 3"
    assert len(sleeps) == 2 and all(0 <= s <= 1.0 for s in sleeps)
