"""The names the rendered Tekton objects share: namespace, labels, service accounts, the registry path of the
service images, and the metadata and workspace declarations built from them."""

from __future__ import annotations

from shipyard.k8s.base import ObjectMeta
from shipyard.k8s.tekton import WorkspaceDeclaration
from shipyard.spec.model import Platform

NAMESPACE = "shipyard-ci"
TRIGGERS_SA = "shipyard-triggers"
PIPELINES_SA = "shipyard-pipelines"
# The user and group of Shipyard's image (its Dockerfile's `useradd --uid 1000`), which runs every step but the
# build's and the scan's.
STEP_GROUP = 1000
LABELS = {"app.kubernetes.io/managed-by": "shipyard", "app.kubernetes.io/part-of": "shipyard-ci"}


def meta(name: str) -> ObjectMeta:
    """The metadata of a namespaced object of ``tekton/``."""
    return ObjectMeta(name=name, namespace=NAMESPACE, labels=dict(LABELS))


def declare_workspaces(*names: str, optional: tuple[str, ...] = ()) -> list[WorkspaceDeclaration]:
    """Workspace declarations, in the order given; those in ``optional`` may be left unbound."""
    return [WorkspaceDeclaration(name=n, optional=True if n in optional else None) for n in names]


def image_prefix(platform: Platform) -> str:
    """Where the service images live: ``<registry host>/<services project>``."""
    return f"{platform.registry.host}/{platform.registry.projects.services}"
