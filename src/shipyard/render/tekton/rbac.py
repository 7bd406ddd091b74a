"""The service accounts the EventListener and the PipelineRuns run as, and the listener's role bindings."""

from __future__ import annotations

from shipyard.k8s.base import K8sModel, ObjectMeta
from shipyard.k8s.core import RoleBinding, RoleRef, ServiceAccount, Subject
from shipyard.render.tekton.names import LABELS, NAMESPACE, PIPELINES_SA, TRIGGERS_SA, meta


def rbac_objects() -> list[K8sModel]:
    """ServiceAccounts for triggers and pipelines; the listener's bindings to Tekton Triggers' ClusterRoles."""
    subject = [Subject(name=TRIGGERS_SA, namespace=NAMESPACE)]
    cluster_meta = ObjectMeta(name=f"{NAMESPACE}-{TRIGGERS_SA}", labels=dict(LABELS))
    return [
        ServiceAccount(metadata=meta(TRIGGERS_SA)),
        ServiceAccount(metadata=meta(PIPELINES_SA)),
        # The ClusterRoles Tekton Triggers installs for EventListeners: read triggers, create PipelineRuns.
        RoleBinding(
            metadata=meta(f"{TRIGGERS_SA}-eventlistener"),
            role_ref=RoleRef(kind="ClusterRole", name="tekton-triggers-eventlistener-roles"),
            subjects=subject,
        ),
        RoleBinding(
            kind="ClusterRoleBinding",
            metadata=cluster_meta,
            role_ref=RoleRef(kind="ClusterRole", name="tekton-triggers-eventlistener-clusterroles"),
            subjects=subject,
        ),
    ]
