"""Promotions Kargo makes on a cluster read like the local executor's: the rendered PromotionTask's
git-commit message, with its ``${{ }}`` expressions substituted as Kargo would, carries the trailers
``shipyard promote`` writes, and the ledger (what ``status`` and ``trace`` read) parses it.

The expressions render writes use a small subset of Kargo's expr-lang (member access, a string index,
string literals, ``+``, ``imageFrom``, ``split``, ``trimPrefix``) whose meaning is the same in Python,
so they are evaluated with Python over a namespace that plays Kargo's promotion context.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from shipyard.git import parse_trailers
from shipyard.k8s.yaml import load_all
from shipyard.promotion.executor import Move
from shipyard.promotion.ledger import entry_from_commit
from shipyard.render.kargo import render_kargo
from shipyard.spec.loader import load_spec
from shipyard.workspace.discovery import discover

_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
KARGO_FREIGHT = "4c2e9d0b7a61f3e85d2c9b0a1e7f6d3c2b1a0f9e"


def _trim_prefix(text: str, prefix: str) -> str:
    return text[len(prefix) :] if text.startswith(prefix) else text


def substitute(template: str, names: dict[str, Any]) -> str:
    """Replace every ``${{ expr }}`` of ``template`` with its value, as Kargo does at promotion time."""
    scope = {"__builtins__": {}, "split": lambda text, sep: text.split(sep), "trimPrefix": _trim_prefix, **names}
    # eval is safe here: the text is the expressions render wrote, and nothing but `scope` is reachable.
    return _EXPRESSION.sub(lambda m: str(eval(m.group(1), scope)), template)


def rendered(root: Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]], list[str], str]:
    """The PromotionTask, the Stages by name, the services and the image host of the platform at ``root``."""
    platform = load_spec(root / "shipyard.yaml")
    files = render_kargo(platform, discover(root))
    (task,) = load_all(files["kargo/promotions/promote.yaml"])
    stages = {
        path.rsplit("/", 1)[1].removesuffix(".yaml"): load_all(text)[0]
        for path, text in files.items()
        if path.startswith("kargo/stages/")
    }
    services = sorted(s.name for s in discover(root).services)
    return task, stages, services, platform.registry.image("")


def promote_as_kargo(
    task: dict[str, Any], stage: dict[str, Any], freight: dict[str, tuple[str, str]], image_base: str
) -> str:
    """The commit message Kargo's git-commit step writes when ``stage`` takes ``freight`` (service -> tag, digest)."""
    images = {
        f"{image_base}{service}": SimpleNamespace(Tag=tag, Digest=digest) for service, (tag, digest) in freight.items()
    }
    names: dict[str, Any] = {
        "imageFrom": lambda repo_url: images[repo_url],
        "ctx": SimpleNamespace(stage=stage["metadata"]["name"], targetFreight=SimpleNamespace(name=KARGO_FREIGHT)),
    }
    # Task variables take the Stage's values over their defaults, and are evaluated in order.
    (step,) = stage["spec"]["promotionTemplate"]["spec"]["steps"]
    given = {v["name"]: v.get("value") for v in step.get("vars") or []}
    variables: dict[str, str] = {}
    for var in task["spec"]["vars"]:
        value = given.get(var["name"], var.get("value"))
        if value is not None:
            variables[var["name"]] = substitute(value, {**names, "vars": SimpleNamespace(**variables)})
    summary = f"Updated ./out/overlays/{variables['overlay']} to use new images\n\n" + "\n".join(
        f"- {image}@{image_of.Digest}" for image, image_of in sorted(images.items())
    )
    names["vars"] = SimpleNamespace(**variables)
    names["task"] = SimpleNamespace(outputs={"update-images": SimpleNamespace(commitMessage=summary)})
    (commit,) = [s for s in task["spec"]["steps"] if s["uses"] == "git-commit"]
    return substitute(commit["config"]["message"], names)


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
    message = promote_as_kargo(task, stages[stage_name], freight, image_base)

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
