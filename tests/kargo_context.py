"""Kargo's promotion context, played in Python: the rendered PromotionTask's steps with their ``${{ }}``
expressions evaluated as Kargo evaluates them when a Stage takes a freight.

The expressions render writes use a small subset of Kargo's expr-lang (member access, a string index,
string literals, ``+``, ``imageFrom``, ``split``, ``trimPrefix``) whose meaning is the same in Python,
so they are evaluated with Python over a namespace that plays Kargo's promotion context. What Kargo's
steps output is played too: ``kustomize-set-image``'s commit message summary, ``git-commit``'s commit.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from shipyard.configrepo.promotable import promotable_dir
from shipyard.k8s.yaml import load_all
from shipyard.render.kargo import render_kargo
from shipyard.spec.loader import load_spec
from shipyard.workspace.discovery import discover

_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
KARGO_FREIGHT = "4c2e9d0b7a61f3e85d2c9b0a1e7f6d3c2b1a0f9e"
"""The name Kargo gives a freight (any 40 hex digits)."""
KARGO_COMMIT = "9f0e1d2c3b4a59687766554433221100ffeeddcc"
"""The commit Kargo's git-commit step outputs, as the promotions here play it."""


def _trim_prefix(text: str, prefix: str) -> str:
    return text[len(prefix) :] if text.startswith(prefix) else text


def substitute(template: str, names: dict[str, Any]) -> str:
    """Replace every ``${{ expr }}`` of ``template`` with its value, as Kargo does at promotion time."""
    scope = {"__builtins__": {}, "split": lambda text, sep: text.split(sep), "trimPrefix": _trim_prefix, **names}
    # eval is safe here: the text is the expressions render wrote, and nothing but `scope` is reachable.
    return _EXPRESSION.sub(lambda m: str(eval(m.group(1), scope)), template)


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


def promote_as_kargo(
    task: dict[str, Any], stage: dict[str, Any], freight: dict[str, tuple[str, str]], image_base: str
) -> list[dict[str, Any]]:
    """The task's steps as Kargo runs them when ``stage`` takes ``freight`` (service -> tag, digest): each
    ``{"uses", "as"?, "config"}`` with every expression of its config evaluated."""
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
