"""Typed Argo CD objects: AppProject, Application, ApplicationSet."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from shipyard.k8s.base import K8sModel, ObjectMeta

ARGOCD_NAMESPACE = "argocd"
RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"
IN_CLUSTER = "https://kubernetes.default.svc"
"""How Argo CD addresses the cluster it runs in; every other destination server needs a cluster Secret."""
CLUSTER_SECRET_LABEL = "argocd.argoproj.io/secret-type"
"""Argo CD reads a Secret of its namespace with this label set to ``cluster`` as a destination cluster's
``name``, ``server`` and connection ``config``."""
MANIFEST_PATHS = "argocd.argoproj.io/manifest-generate-paths"
"""The folders an Application's manifests come from: a commit touching none of them reuses its cached manifests,
so a promotion of one environment does not regenerate every other Application of the repository."""


def application_name(service: str, env: str) -> str:
    """The Argo CD Application that deploys one service in one environment (``user-service-dev``): the render
    names it, Kargo's and the local executor's ``argocd-update`` step name it too."""
    return f"{service}-{env}"


def environment_application_name(org: str, env: str) -> str:
    """The Argo CD Application of what an environment's services share: its Namespace and database Secret."""
    return f"{org}-{env}"


class Destination(K8sModel):
    """Where an Application deploys."""

    server: str
    namespace: str


class ApplicationSourceDirectory(K8sModel):
    """A directory of plain manifests."""

    recurse: bool


class ApplicationSourceHelm(K8sModel):
    """Helm values, inline; credentials are referenced by Secret name inside them, never set."""

    release_name: str | None = None
    values_object: dict[str, Any] | None = None


class ApplicationSource(K8sModel):
    """A git path (kustomize or directory) or a Helm chart."""

    repo_url: str = Field(alias="repoURL")
    target_revision: str
    path: str | None = None
    chart: str | None = None
    directory: ApplicationSourceDirectory | None = None
    helm: ApplicationSourceHelm | None = None


class Automated(K8sModel):
    """Automated sync."""

    prune: bool
    self_heal: bool


SKIP_DRY_RUN = "SkipDryRunOnMissingResource=true"
"""Sync option: apply without a dry run for kinds whose CRD is not served yet. Argo CD assesses no
Application health by default, so an app-of-apps' sync waves do not wait for the Application that brings
a CRD; with this option and retries, an Application using that CRD converges once it is there."""


class Retry(K8sModel):
    """Retry a failed sync."""

    limit: int


class SyncPolicy(K8sModel):
    """How an Application syncs."""

    automated: Automated | None = None
    sync_options: list[str] | None = None
    retry: Retry | None = None


class ApplicationSpec(K8sModel):
    """Application spec."""

    project: str
    source: ApplicationSource
    destination: Destination
    sync_policy: SyncPolicy | None = None


class Application(K8sModel):
    """argoproj.io/v1alpha1 Application."""

    api_version: Literal["argoproj.io/v1alpha1"] = "argoproj.io/v1alpha1"
    kind: Literal["Application"] = "Application"
    metadata: ObjectMeta
    spec: ApplicationSpec


class GroupKind(K8sModel):
    """A kind an AppProject allows."""

    group: str
    kind: str


class AppProjectSpec(K8sModel):
    """AppProject spec."""

    description: str
    source_repos: list[str]
    destinations: list[Destination]
    cluster_resource_whitelist: list[GroupKind]
    namespace_resource_whitelist: list[GroupKind] | None = None


class AppProject(K8sModel):
    """argoproj.io/v1alpha1 AppProject."""

    api_version: Literal["argoproj.io/v1alpha1"] = "argoproj.io/v1alpha1"
    kind: Literal["AppProject"] = "AppProject"
    metadata: ObjectMeta
    spec: AppProjectSpec


class GitDirectory(K8sModel):
    """A directory glob of a git generator."""

    path: str


class GitGenerator(K8sModel):
    """A git directory generator."""

    repo_url: str = Field(alias="repoURL")
    revision: str
    directories: list[GitDirectory]


class Generator(K8sModel):
    """One generator of an ApplicationSet (only git directories are emitted)."""

    git: GitGenerator


class TemplateMetadata(K8sModel):
    """Metadata of the Applications an ApplicationSet makes."""

    name: str
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    finalizers: list[str] | None = None


class ApplicationSetTemplate(K8sModel):
    """The Application an ApplicationSet makes for each generated parameter set."""

    metadata: TemplateMetadata
    spec: ApplicationSpec


class ApplicationSetSpec(K8sModel):
    """ApplicationSet spec. ``goTemplate`` stays false: the template uses ``{{path.basename}}`` syntax,
    and mixing the two syntaxes is the commonest ApplicationSet mistake."""

    go_template: Literal[False] = False
    generators: list[Generator]
    template: ApplicationSetTemplate


class ApplicationSet(K8sModel):
    """argoproj.io/v1alpha1 ApplicationSet."""

    api_version: Literal["argoproj.io/v1alpha1"] = "argoproj.io/v1alpha1"
    kind: Literal["ApplicationSet"] = "ApplicationSet"
    metadata: ObjectMeta
    spec: ApplicationSetSpec
