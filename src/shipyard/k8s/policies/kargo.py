"""Kargo's promotions against the Argo CD Applications they must sync.

Both checks read a Stage's steps as Kargo runs them: its own, and those of the PromotionTasks it calls, with
the task's variables (defaults, then the Stage's values) put into ``${{ vars.<name> }}``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import Any

from shipyard.k8s.argocd import ARGOCD_NAMESPACE
from shipyard.k8s.documents import Document, Finding, kargo_steps, substitute_vars
from shipyard.k8s.kargo import AUTHORIZED_STAGE
from shipyard.k8s.policies.tree import App, Tree


def _variables(entries: Any) -> dict[str, str]:
    return {str(v["name"]): str(v.get("value") or "") for v in entries or [] if isinstance(v, dict) and v.get("name")}


def stage_steps(tree: Tree, stage: Document) -> Iterator[tuple[dict[str, Any], dict[str, str]]]:
    """Every step a promotion into ``stage`` runs, with the variables its expressions see."""
    tasks = {(d.kind, d.name): d for d in tree.kind("PromotionTask", "ClusterPromotionTask")}
    template_vars = _variables(
        ((stage.data.get("spec") or {}).get("promotionTemplate") or {}).get("spec", {}).get("vars")
    )
    for _, step in kargo_steps(stage):
        task = step.get("task")
        if not isinstance(task, dict):
            yield step, template_vars
            continue
        doc = tasks.get((str(task.get("kind") or "PromotionTask"), str(task.get("name"))))
        if doc is None:
            continue
        variables = {**template_vars, **_variables((doc.data.get("spec") or {}).get("vars"))}
        variables.update(_variables(step.get("vars")))
        for _, inner in kargo_steps(doc):
            yield inner, variables


def _authorized(app: Document, wanted: str) -> bool:
    """Kargo's reading of the annotation: a comma-separated list of ``<project>:<stage>``."""
    value = str(((app.data.get("metadata") or {}).get("annotations") or {}).get(AUTHORIZED_STAGE, ""))
    return wanted in {entry.replace(" ", "") for entry in value.split(",")}


def _selects(selector: dict[str, Any], app: Document) -> bool:
    labels = (app.data.get("metadata") or {}).get("labels") or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        present = key in labels
        if (
            (operator == "In" and labels.get(key) not in values)
            or (operator == "NotIn" and present and labels.get(key) in values)
            or (operator == "Exists" and not present)
            or (operator == "DoesNotExist" and present)
        ):
            return False
    return True


def _updated(tree: Tree, step: dict[str, Any], variables: dict[str, str]) -> Iterator[tuple[str, list[Document], str]]:
    """Per entry of an ``argocd-update`` step: how it is written, the Applications it resolves to, and how."""
    applications = tree.kind("Application")
    for entry in (step.get("config") or {}).get("apps") or []:
        if not isinstance(entry, dict):
            continue
        namespace = substitute_vars(str(entry.get("namespace") or ARGOCD_NAMESPACE), variables)
        in_namespace = [
            a for a in applications if (a.data.get("metadata") or {}).get("namespace", ARGOCD_NAMESPACE) == namespace
        ]
        if isinstance(entry.get("name"), str):
            name = substitute_vars(entry["name"], variables)
            if "${{" not in name:
                yield name, [a for a in in_namespace if a.name == name], "name"
        elif isinstance(entry.get("selector"), dict):
            yield "the selector", [a for a in in_namespace if _selects(entry["selector"], a)], "selector"


def authorized_stage(tree: Tree) -> list[Finding]:
    """Every Application a Stage's ``argocd-update`` reaches exists and carries
    ``kargo.akuity.io/authorized-stage: <project>:<stage>``.

    Kargo's ``argocd-update`` (pkg/promotion/runner/builtin/argocd_updater.go, ``authorizeArgoCDAppUpdate``)
    fails the promotion on a named Application without it, and silently skips one a ``selector`` matched: that
    service would never be synced by a promotion.
    """
    findings: list[Finding] = []
    for stage in tree.kind("Stage"):
        wanted = f"{(stage.data.get('metadata') or {}).get('namespace', '')}:{stage.name}"
        for step, variables in stage_steps(tree, stage):
            if step.get("uses") != "argocd-update":
                continue
            for written, apps, how in _updated(tree, step, variables):
                if not apps:
                    what = f"Application '{written}', which is not in the tree" if how == "name" else "no Application"
                    findings.append(
                        Finding(
                            stage.file,
                            stage.index,
                            stage.label,
                            "$.spec.promotionTemplate",
                            "policy/authorized-stage",
                            "error",
                            f"Stage {stage.name} updates {what}",
                        )
                    )
                for app in apps:
                    if _authorized(app, wanted):
                        continue
                    effect = "Kargo refuses it" if how == "name" else "Kargo skips it without a word"
                    findings.append(
                        Finding(
                            app.file,
                            app.index,
                            app.label,
                            f"$.metadata.annotations['{AUTHORIZED_STAGE}']",
                            "policy/authorized-stage",
                            "error",
                            f"Kargo Stage {stage.name} updates this Application ({effect} otherwise), "
                            f"which must carry {AUTHORIZED_STAGE}: {wanted}",
                        )
                    )
    return findings


def _edited(step: dict[str, Any], variables: dict[str, str], checkouts: list[str]) -> str | None:
    """The config repo folder a ``kustomize-set-image`` step edits, relative to the repository."""
    path = (step.get("config") or {}).get("path")
    if not isinstance(path, str):
        return None
    path = posixpath.normpath(substitute_vars(path, variables))
    for checkout in checkouts:
        if path.startswith(f"{checkout}/"):
            return path[len(checkout) + 1 :]
    return None


def stage_applications(tree: Tree) -> list[Finding]:
    """A Stage's ``argocd-update`` names every Application whose source reads the folder its promotion edits.

    Kargo's ``argocd-update`` syncs only the Applications it is given (by ``name`` or ``selector``) to the commit
    it pushed, and its health check covers only them. An Application that builds the edited promotable state but
    is not named keeps running the previous images until its own next sync: without automated sync, until
    somebody presses the button.
    """
    findings: list[Finding] = []
    reads: dict[str, set[str]] = {}

    def reading(app: App) -> set[str]:
        assert app.path is not None
        if app.path not in reads:
            reads[app.path] = tree.reads(app.path)
        return reads[app.path]

    for stage in tree.kind("Stage"):
        steps = list(stage_steps(tree, stage))
        checkouts = [
            posixpath.normpath(substitute_vars(str(c.get("path")), variables))
            for step, variables in steps
            if step.get("uses") == "git-clone"
            for c in (step.get("config") or {}).get("checkout") or []
            if isinstance(c, dict) and c.get("path")
        ]
        edited = {
            folder
            for step, variables in steps
            if step.get("uses") == "kustomize-set-image"
            for folder in [_edited(step, variables, checkouts)]
            if folder is not None
        }
        updated = {
            app.name
            for step, variables in steps
            if step.get("uses") == "argocd-update"
            for _, apps, _ in _updated(tree, step, variables)
            for app in apps
        }
        for app in tree.applications:
            if app.path is None or app.name in updated:
                continue
            touched = sorted(edited & reading(app))
            if touched:
                findings.append(
                    Finding(
                        stage.file,
                        stage.index,
                        stage.label,
                        "$.spec.promotionTemplate",
                        "kargo/stage-applications",
                        "error",
                        f"a promotion into {stage.name} edits {touched[0]}, which Application {app.name} deploys, "
                        f"but its argocd-update does not sync {app.name}: it would keep the old images until its "
                        "own next sync",
                    )
                )
    return findings
