"""Promotions Kargo makes on a cluster read like the local executor's: the rendered PromotionTask's
git-commit message, with its ``${{ }}`` expressions substituted as Kargo would (``tests/kargo_context.py``),
carries the trailers ``shipyard promote`` writes, and the ledger (what ``status`` and ``trace`` read)
parses it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.git import parse_trailers
from shipyard.promotion.executor import Move
from shipyard.promotion.ledger import entry_from_commit
from tests.kargo_context import KARGO_FREIGHT, kargo_commit_message, promote_as_kargo, rendered


def digest(n: int) -> str:
    return "sha256:" + f"{n:x}" * 64


@pytest.mark.parametrize(
    ("prefix", "stage_name", "recorded"),
    [
        ("v", "dev", "v1.2.0-alpha.20261125093000"),
        ("v", "production", "v1.2.0"),
        ("release-", "uat", "release-1.2.0-beta.2"),
        ("release-", "production", "release-1.2.0"),
    ],
)
def test_kargo_promotion_commits_carry_the_executors_trailers(
    acme: Path, prefix: str, stage_name: str, recorded: str
) -> None:
    spec = acme / "shipyard.yaml"
    spec.write_text(spec.read_text(encoding="utf-8") + f"versioning:\n  tagPrefix: {prefix}\n", encoding="utf-8")
    task, stages, services, image_base = rendered(acme)
    tag = f"{prefix}1.2.0-alpha.20261125093000" if stage_name == "dev" else f"{prefix}1.2.0-beta.2"
    freight = {service: (tag, digest(n + 1)) for n, service in enumerate(services)}
    message = kargo_commit_message(promote_as_kargo(task, stages[stage_name], freight, image_base))

    entry = entry_from_commit("c0ffee", "kargo", "2026-11-25T10:00:00Z", message)
    assert entry is not None and entry.kind == "promotion"
    assert (entry.stage, entry.version, entry.freight) == (stage_name, recorded, KARGO_FREIGHT)
    assert dict(entry.images) == {service: d for service, (_, d) in freight.items()}
    # The very trailers, in the very order, `shipyard promote` writes for the same move.
    move = Move(
        stage=stage_name,
        freight=KARGO_FREIGHT,
        version=recorded,
        images={service: (f"{image_base}{service}", d) for service, (_, d) in freight.items()},
    )
    assert parse_trailers(message) == move.trailers()


SOURCE = "0123456789abcdef0123456789abcdef01234567"
OLDER = "fedcba9876543210fedcba9876543210fedcba98"


def annotated(version: str, revision: str, pr: str | None = None) -> dict[str, str]:
    found = {"org.opencontainers.image.version": version, "org.opencontainers.image.revision": revision}
    if pr:
        found["dev.shipyard.pull-request"] = pr
    return found


@pytest.mark.parametrize(
    ("stage_name", "actor", "approver"),
    [("dev", "", None), ("uat", "email:riley@acme.example.com", "riley@acme.example.com"), ("staging", "", None)],
)
def test_kargo_commits_name_the_source_commit_pr_and_approver(
    acme: Path, stage_name: str, actor: str, approver: str | None
) -> None:
    """The annotations of the first service built for the version give the source commit and PR (a service
    the version did not change was retagged: its annotations name an older build); Kargo's promotion actor
    gives the approver. The trailers are those `shipyard promote` writes for a freight with that source."""
    task, stages, services, image_base = rendered(acme)
    tag = "v1.2.0-alpha.20261125093000" if stage_name in ("dev", "staging") else "v1.2.0-beta.2"
    freight = {service: (tag, digest(n + 1)) for n, service in enumerate(services)}
    annotations = {service: annotated(tag, SOURCE, "104") for service in services}
    annotations[services[0]] = annotated("v1.1.0-beta.1", OLDER, "99")  # retagged: an older build
    message = kargo_commit_message(
        promote_as_kargo(task, stages[stage_name], freight, image_base, annotations=annotations, actor=actor)
    )
    move = Move(
        stage=stage_name,
        freight=KARGO_FREIGHT,
        version=tag,
        images={service: (f"{image_base}{service}", d) for service, (_, d) in freight.items()},
        source_commit=SOURCE,
        pr="104",
        approved_by=approver,
    )
    assert parse_trailers(message) == move.trailers()


def test_without_annotations_there_is_no_source_trailer(acme: Path) -> None:
    task, stages, services, image_base = rendered(acme)
    freight = {service: ("v1.2.0-beta.2", digest(n + 1)) for n, service in enumerate(services)}
    message = kargo_commit_message(promote_as_kargo(task, stages["uat"], freight, image_base, actor="controller:x"))
    keys = [key for key, _ in parse_trailers(message)]
    assert "Shipyard-Source-Commit" not in keys and "Shipyard-PR" not in keys and "Shipyard-Approved-By" not in keys


def test_trace_of_a_kargo_commit_shows_source_and_pr(acme: Path) -> None:
    from shipyard.promotion.board import trace
    from shipyard.promotion.ledger import Ledger
    from shipyard.spec.loader import load_spec
    from shipyard.stages.graph import build_graph

    task, stages, services, image_base = rendered(acme)
    tag = "v1.2.0-beta.2"
    freight = {service: (tag, digest(n + 1)) for n, service in enumerate(services)}
    annotations = {service: annotated(tag, SOURCE, "104") for service in services}
    message = kargo_commit_message(
        promote_as_kargo(task, stages["uat"], freight, image_base, annotations=annotations, actor="email:r@a.io")
    )
    entry = entry_from_commit("c0ffee", "kargo", "2026-11-25T10:00:00Z", message)
    assert entry is not None
    (placement,) = trace(build_graph(load_spec(acme / "shipyard.yaml")), Ledger([entry]), services[0], "uat")
    assert (placement.source_commit, placement.pr, placement.promoted_by) == (SOURCE, "104", "r@a.io")
