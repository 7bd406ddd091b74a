"""One step registry for both executors: the rendered Kargo PromotionTask and the local executor list the same
steps, in the same order, each with a config Kargo's own JSON Schema accepts, and for the same freight the
configs agree value for value once Kargo's expressions are evaluated (``tests/kargo_context.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shipyard.git import parse_trailers
from shipyard.k8s.schemas import SchemaSet, load_schemas
from shipyard.k8s.yaml import load_all
from shipyard.promotion.executor import Move
from shipyard.promotion.steps import PROMOTION_STEPS, Inputs
from shipyard.render.common import config_repo_url
from shipyard.render.kargo import render_kargo
from shipyard.spec.loader import load_spec
from shipyard.workspace.discovery import discover
from tests.kargo_context import KARGO_FREIGHT, promote_as_kargo, rendered
from tests.realparts import need_reference


@pytest.fixture(scope="module")
def schemas() -> SchemaSet:
    """Kargo v1.11's JSON Schemas of the built-in steps' configs."""
    return load_schemas(need_reference("kargo-schemas"))


def schema_errors(schemas: SchemaSet, uses: str, config: dict[str, Any]) -> list[str]:
    validator = schemas.steps.get(uses)
    assert validator is not None, f"Kargo has no step '{uses}'"
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(config)]


def task_steps(root: Path) -> list[dict[str, Any]]:
    files = render_kargo(load_spec(root / "shipyard.yaml"), discover(root))
    (task,) = load_all(files["kargo/promotions/promote.yaml"])
    return list(task["spec"]["steps"])


def local_inputs(root: Path, move: Move, checkout: Path) -> Inputs:
    platform = load_spec(root / "shipyard.yaml")
    return move.inputs(platform, config_repo_url(platform), checkout)


def digest(n: int) -> str:
    return "sha256:" + f"{n:x}" * 64


def test_the_rendered_task_runs_the_registry_in_order(acme: Path) -> None:
    steps = task_steps(acme)
    assert [(s["uses"], s.get("as")) for s in steps] == [(step.uses, step.alias) for step in PROMOTION_STEPS]
    assert [s["uses"] for s in steps] == ["git-clone", "kustomize-set-image", "git-commit", "git-push", "argocd-update"]


def test_rendered_and_local_configs_satisfy_kargos_step_schemas(acme: Path, schemas: SchemaSet) -> None:
    for rendered_step in task_steps(acme):
        assert schema_errors(schemas, rendered_step["uses"], rendered_step["config"]) == [], rendered_step["uses"]
    services = sorted(s.name for s in discover(acme).services)
    platform = load_spec(acme / "shipyard.yaml")
    move = Move(
        stage="uat",
        freight="f" * 40,
        version="v1.2.0-beta.2",
        images={s: (platform.registry.image(s), digest(n + 1)) for n, s in enumerate(services)},
        source_commit="abc1234",
        pr="7",
        approved_by="Riley Release",
    )
    inputs = local_inputs(acme, move, acme / "out")
    for step in PROMOTION_STEPS:
        assert schema_errors(schemas, step.uses, step.config(inputs).to_dict()) == [], step.uses


@pytest.mark.parametrize(
    ("stage_name", "tag", "recorded"),
    [
        ("dev", "v1.2.0-alpha.20261125093000", "v1.2.0-alpha.20261125093000"),
        ("uat", "v1.2.0-beta.2", "v1.2.0-beta.2"),
        ("production", "v1.2.0-beta.2", "v1.2.0"),
    ],
)
def test_kargos_configs_are_the_local_ones_for_the_same_freight(
    acme: Path, stage_name: str, tag: str, recorded: str
) -> None:
    task, stages, services, image_base = rendered(acme)
    freight = {service: (tag, digest(n + 1)) for n, service in enumerate(services)}
    kargo = promote_as_kargo(task, stages[stage_name], freight, image_base)

    checkout = acme / "scratch"
    move = Move(
        stage=stage_name,
        freight=KARGO_FREIGHT,
        version=recorded,
        images={service: (f"{image_base}{service}", d) for service, (_, d) in freight.items()},
    )
    inputs = local_inputs(acme, move, checkout)
    local = [
        {"uses": s.uses, **({"as": s.alias} if s.alias else {}), "config": s.config(inputs).to_dict()}
        for s in PROMOTION_STEPS
    ]

    def here(value: Any) -> Any:
        # Kargo works in ./out of its promotion's folder; the local run in its scratch clone.
        if isinstance(value, str):
            return str(checkout) + value.removeprefix("./out") if value.startswith("./out") else value
        if isinstance(value, list):
            return [here(v) for v in value]
        if isinstance(value, dict):
            return {k: here(v) for k, v in value.items()}
        return value

    kargo = here(kargo)
    kargo_message = kargo[2]["config"].pop("message")
    local_message = local[2]["config"].pop("message")
    assert kargo == local
    # The subjects differ (Kargo's is kustomize-set-image's summary); the trailers are the very same.
    assert parse_trailers(kargo_message) == parse_trailers(local_message) != []
