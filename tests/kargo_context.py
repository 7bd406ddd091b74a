"""Kargo's promotion context, played in Python: the rendered PromotionTask's steps with their ``${{ }}``
expressions evaluated as Kargo evaluates them when a Stage takes a freight.

The expressions are run by ``tests/exprlang.py`` (the expr-lang subset render writes) over a namespace that
plays Kargo's promotion context: ``ctx``, ``vars``, ``imageFrom`` and ``warehouse`` of the freight, and the
builtins ``split``, ``trimPrefix`` and ``hasPrefix``. What Kargo's steps output is played too: ``kustomize-set-image``'s
commit message summary, ``git-commit``'s commit.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from shipyard.configrepo.promotable import promotable_dir
from shipyard.k8s.yaml import load_all
from shipyard.render.kargo import render_kargo
from shipyard.spec.loader import load_spec
from shipyard.workspace.discovery import discover
from tests.exprlang import evaluate_template

KARGO_FREIGHT = "4c2e9d0b7a61f3e85d2c9b0a1e7f6d3c2b1a0f9e"
"""The name Kargo gives a freight (any 40 hex digits)."""
KARGO_COMMIT = "9f0e1d2c3b4a59687766554433221100ffeeddcc"
"""The commit Kargo's git-commit step outputs, as the promotions here play it."""


def _trim_prefix(text: str, prefix: str) -> str:
    return text[len(prefix) :] if text.startswith(prefix) else text


def substitute(template: str, names: dict[str, Any]) -> str:
    """Replace every ``${{ expr }}`` of ``template`` with its value, as Kargo does at promotion time."""
    scope = {
        "split": lambda text, sep: text.split(sep),
        "trimPrefix": _trim_prefix,
        "hasPrefix": lambda text, prefix: text.startswith(prefix),
        **names,
    }
    value = evaluate_template(template, scope)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else json.dumps(value)


def _substituted(value: Any, names: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return substitute(value, names)
    if isinstance(value, list):
        return [_substituted(item, names) for item in value]
    if isinstance(value, dict):
        return {key: _substituted(item, names) for key, item in value.items()}
    return value


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


def _context(
    stage: dict[str, Any],
    freight: dict[str, tuple[str, str]],
    image_base: str,
    origin: str | None,
    annotations: dict[str, dict[str, str]] | None,
    actor: str,
    secrets: dict[str, dict[str, str]] | None,
) -> tuple[dict[str, Any], dict[str, SimpleNamespace]]:
    """The names Kargo's expressions see when ``stage`` takes ``freight`` from ``origin``, and the images."""
    requested = [r["origin"]["name"] for r in stage["spec"]["requestedFreight"]]
    origin = origin or requested[0]
    assert origin in requested, f"Stage {stage['metadata']['name']} takes no freight from {origin}"
    images = {
        f"{image_base}{service}": SimpleNamespace(
            Tag=tag, Digest=digest, Annotations=(annotations or {}).get(service, {})
        )
        for service, (tag, digest) in freight.items()
    }

    def image_from(repo_url: str, from_origin: str | None = None) -> SimpleNamespace:
        # Kargo refuses to guess when several requested Warehouses could provide the image.
        if from_origin is None and len(requested) > 1:
            raise AssertionError(f"imageFrom({repo_url!r}) is ambiguous: the Stage takes freight from {requested}")
        assert from_origin in (None, origin), f"imageFrom({repo_url!r}) asks {from_origin}, the freight is {origin}"
        return images[repo_url]

    names: dict[str, Any] = {
        "imageFrom": image_from,
        "warehouse": lambda name: name,
        # secret() of a Secret that is not there is an empty map, as in Kargo.
        "secret": lambda name: dict((secrets or {}).get(name, {})),
        "ctx": SimpleNamespace(
            stage=stage["metadata"]["name"],
            targetFreight=SimpleNamespace(name=KARGO_FREIGHT, origin=SimpleNamespace(name=origin)),
            meta=SimpleNamespace(promotion=SimpleNamespace(actor=actor)),
        ),
    }
    return names, images


def stage_checks_as_kargo(
    stage: dict[str, Any],
    freight: dict[str, tuple[str, str]],
    image_base: str,
    origin: str | None = None,
    secrets: dict[str, dict[str, str]] | None = None,
) -> list[dict[str, Any]]:
    """The steps a Stage runs before its PromotionTask, with every expression of their configs evaluated."""
    names, _ = _context(stage, freight, image_base, origin, None, "", secrets)
    steps = stage["spec"]["promotionTemplate"]["spec"]["steps"]
    return [{**s, "config": _substituted(s.get("config") or {}, names)} for s in steps if "task" not in s]


def promote_as_kargo(
    task: dict[str, Any],
    stage: dict[str, Any],
    freight: dict[str, tuple[str, str]],
    image_base: str,
    origin: str | None = None,
    *,
    annotations: dict[str, dict[str, str]] | None = None,
    actor: str = "",
) -> list[dict[str, Any]]:
    """The task's steps as Kargo runs them when ``stage`` takes ``freight`` (service -> tag, digest) from the
    Warehouse ``origin`` (default: the first the Stage requests), its images carrying ``annotations`` (service
    -> OCI annotations) and the promotion made by ``actor`` (Kargo's ``create-actor``, empty for automatic
    ones): each ``{"uses", "as"?, "config"}`` with every expression of its config evaluated."""
    names, images = _context(stage, freight, image_base, origin, annotations, actor, None)
    # Task variables take the Stage's values over their defaults, and are evaluated in order.
    (step,) = [s for s in stage["spec"]["promotionTemplate"]["spec"]["steps"] if "task" in s]
    given = {v["name"]: v.get("value") for v in step.get("vars") or []}
    variables: dict[str, str] = {}
    for var in task["spec"]["vars"]:
        value = given.get(var["name"], var.get("value"))
        if value is not None:
            variables[var["name"]] = substitute(value, {**names, "vars": SimpleNamespace(**variables)})
    summary = f"Updated ./out/{promotable_dir(variables['overlay'])} to use new images\n\n" + "\n".join(
        f"- {image}@{image_of.Digest}" for image, image_of in sorted(images.items())
    )
    names["vars"] = SimpleNamespace(**variables)
    outputs = {"update-images": SimpleNamespace(commitMessage=summary), "commit": SimpleNamespace(commit=KARGO_COMMIT)}
    names["task"] = SimpleNamespace(outputs=_Outputs(outputs))
    return [{**s, "config": _substituted(s.get("config") or {}, names)} for s in task["spec"]["steps"]]


class _Outputs(dict[str, Any]):
    """Step outputs by alias: Kargo reads them by index (``outputs['update-images']``) or as members."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc


def kargo_commit_message(steps: list[dict[str, Any]]) -> str:
    """The message of the git-commit step of ``promote_as_kargo``'s steps."""
    (commit,) = [s for s in steps if s["uses"] == "git-commit"]
    return str(commit["config"]["message"])
