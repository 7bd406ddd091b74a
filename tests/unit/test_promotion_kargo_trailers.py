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
