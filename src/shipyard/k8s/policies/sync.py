"""Would a promotion committed to the config repo reach the cluster? The check names the upstream behaviour it
encodes."""

from __future__ import annotations

import posixpath

from shipyard.k8s.documents import Finding
from shipyard.k8s.policies.kargo import _updated, stage_steps
from shipyard.k8s.policies.tree import Tree

PROMOTABLE = "images"


def unsynced_promotion(tree: Tree) -> list[Finding]:
    """``argocd/unsynced-promotion``: an Application without automated sync that deploys what promotions write,
    and that no Kargo Stage's ``argocd-update`` syncs.

    Argo CD applies a commit to an Application only when it syncs: by itself with ``syncPolicy.automated``,
    otherwise when an operation is requested (``argocd app sync``, or the ``operation`` field Kargo's
    ``argocd-update`` and ``shipyard promote`` write). A promotion or rollback into a manual stage whose
    Applications nothing syncs stays a commit that never runs; ``shipyard promote`` asks Argo CD itself only
    when run against the cluster, so the cluster path, Kargo, must name them.
    """
    synced: set[str] = set()
    for stage in tree.kind("Stage"):
        for step, variables in stage_steps(tree, stage):
            if step.get("uses") == "argocd-update":
                for _, apps, _ in _updated(tree, step, variables):
                    synced.update(app.name for app in apps)
    findings: list[Finding] = []
    for app in tree.applications:
        if app.automated or app.path is None or not app.path.startswith("overlays/"):
            continue
        env = app.path.split("/")[1]
        promotable = posixpath.join("overlays", env, PROMOTABLE)
        if promotable not in tree.reads(app.path) or app.name in synced:
            continue
        findings.append(
            Finding(
                app.doc.file,
                app.doc.index,
                app.doc.label,
                "$.spec.syncPolicy",
                "argocd/unsynced-promotion",
                "error",
                f"Application {app.name} deploys what promotions into {env} commit ({promotable}), does not sync "
                "by itself, and no Kargo Stage's argocd-update syncs it: promotions and rollbacks would stay "
                "commits that never run",
            )
        )
    return findings
