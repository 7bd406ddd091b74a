"""Argo CD: the AppProject, one Application per environment, the app-of-apps root, the previews
ApplicationSet, and the Applications that deploy ``kargo/``, ``jobs/``, ``serve/`` and ``bootstrap/``.

One Application per environment, not per service and environment: each environment's promotable
state is one kustomization holding every service's image, so two Applications building it would
both own every object. Each Application that a Kargo Stage updates carries the authorized-stage
annotation, without which Kargo's ``argocd-update`` step is refused.
"""

from __future__ import annotations

from shipyard.configrepo.location import BRANCH
from shipyard.k8s.argocd import (
    ARGOCD_NAMESPACE,
    RESOURCES_FINALIZER,
    SKIP_DRY_RUN,
    Application,
    ApplicationSet,
    ApplicationSetSpec,
    ApplicationSetTemplate,
    ApplicationSource,
    ApplicationSourceDirectory,
    ApplicationSpec,
    AppProject,
    AppProjectSpec,
    Automated,
    Destination,
    Generator,
    GitDirectory,
    GitGenerator,
    GroupKind,
    Retry,
    SyncPolicy,
    TemplateMetadata,
    application_name,
)
from shipyard.k8s.base import ObjectMeta
from shipyard.k8s.kargo import AUTHORIZED_STAGE
from shipyard.render.common import (
    IN_CLUSTER,
    cluster_server,
    config_repo_url,
    kargo_project,
    part_of,
    yaml_of,
)
from shipyard.spec.model import Platform, PromotionMode
from shipyard.stages.graph import build_graph
from shipyard.workspace.model import Workspace

CREATE_NAMESPACE = "CreateNamespace=true"
SYNC_WAVE = "argocd.argoproj.io/sync-wave"


def render_argocd(platform: Platform, workspace: Workspace) -> dict[str, str]:
    """``argocd/app-of-apps.yaml`` and everything under ``argocd/applications/``."""
    repo = config_repo_url(platform)
    project = platform.org
    files = {
        "argocd/app-of-apps.yaml": yaml_of(
            _app(
                platform,
                f"{platform.org}-root",
                "default",
                ApplicationSource(
                    repo_url=repo,
                    target_revision=BRANCH,
                    path="argocd/applications",
                    directory=ApplicationSourceDirectory(recurse=False),
                ),
                Destination(server=IN_CLUSTER, namespace=ARGOCD_NAMESPACE),
                automated=True,
            )
        ),
        "argocd/applications/project.yaml": yaml_of(_project(platform)),
        "argocd/applications/previews.yaml": yaml_of(_previews(platform)),
    }
    stages = {node.name for node in build_graph(platform).stages}
    for env in platform.environments:
        app = _app(
            platform,
            application_name(platform.org, env.name),
            project,
            ApplicationSource(repo_url=repo, target_revision=BRANCH, path=f"overlays/{env.name}"),
            Destination(server=cluster_server(platform, env.cluster), namespace=env.ns),
            automated=env.promotion is not PromotionMode.manual,
        )
        if env.name in stages:
            app.metadata.annotations = {AUTHORIZED_STAGE: f"{kargo_project(platform)}:{env.name}"}
        files[f"argocd/applications/{env.name}.yaml"] = yaml_of(app)
    # Platform parts deploy to the cluster Argo CD runs in; bootstrap first (it brings the CRDs), serve after
    # jobs (whose namespace, spec and service account it uses). serve/ is a kustomization, not a directory.
    parts = (("bootstrap", "-1", False), ("kargo", "1", True), ("jobs", "1", False), ("serve", "2", None))
    for name, wave, recurse in parts:
        app = _app(
            platform,
            f"{platform.org}-{name}",
            "default",
            ApplicationSource(
                repo_url=repo,
                target_revision=BRANCH,
                path=name,
                directory=None if recurse is None else ApplicationSourceDirectory(recurse=recurse),
            ),
            Destination(server=IN_CLUSTER, namespace=ARGOCD_NAMESPACE),
            automated=True,
        )
        app.metadata.annotations = {SYNC_WAVE: wave}
        files[f"argocd/applications/{name}.yaml"] = yaml_of(app)
    return files


def _sync(automated: bool) -> SyncPolicy:
    # The kinds these deploy (Kargo's, Rollouts, ExternalSecrets) come with bootstrap's Applications, whose
    # health Argo CD does not wait for: skip the dry run for kinds not served yet, and retry until they are.
    return SyncPolicy(
        automated=Automated(prune=True, self_heal=True) if automated else None,
        sync_options=[CREATE_NAMESPACE, SKIP_DRY_RUN],
        retry=Retry(limit=5),
    )


def _app(
    platform: Platform,
    name: str,
    project: str,
    source: ApplicationSource,
    destination: Destination,
    *,
    automated: bool,
) -> Application:
    return Application(
        metadata=ObjectMeta(
            name=name, namespace=ARGOCD_NAMESPACE, labels=part_of(platform), finalizers=[RESOURCES_FINALIZER]
        ),
        spec=ApplicationSpec(project=project, source=source, destination=destination, sync_policy=_sync(automated)),
    )


def _project(platform: Platform) -> AppProject:
    destinations = [
        Destination(server=cluster_server(platform, env.cluster), namespace=env.ns) for env in platform.environments
    ]
    preview_ns = platform.preview.namespace.replace("{number}", "*")
    destinations.append(Destination(server=cluster_server(platform, platform.preview.cluster), namespace=preview_ns))
    return AppProject(
        metadata=ObjectMeta(name=platform.org, namespace=ARGOCD_NAMESPACE, labels=part_of(platform)),
        spec=AppProjectSpec(
            description=f"The services of {platform.org}, in every environment and preview",
            source_repos=[config_repo_url(platform)],
            destinations=destinations,
            cluster_resource_whitelist=[GroupKind(group="", kind="Namespace")],
        ),
    )


def _previews(platform: Platform) -> ApplicationSet:
    repo = config_repo_url(platform)
    return ApplicationSet(
        metadata=ObjectMeta(name=f"{platform.org}-previews", namespace=ARGOCD_NAMESPACE, labels=part_of(platform)),
        spec=ApplicationSetSpec(
            generators=[
                Generator(
                    git=GitGenerator(repo_url=repo, revision=BRANCH, directories=[GitDirectory(path="previews/pr-*")])
                )
            ],
            template=ApplicationSetTemplate(
                metadata=TemplateMetadata(
                    name="preview-{{path.basename}}",
                    labels={"shipyard.dev/preview": "true", **part_of(platform)},
                    finalizers=[RESOURCES_FINALIZER],
                ),
                spec=ApplicationSpec(
                    project=platform.org,
                    source=ApplicationSource(repo_url=repo, target_revision=BRANCH, path="{{path}}"),
                    destination=Destination(
                        server=cluster_server(platform, platform.preview.cluster), namespace="{{path.basename}}"
                    ),
                    sync_policy=SyncPolicy(
                        automated=Automated(prune=True, self_heal=True), sync_options=[CREATE_NAMESPACE]
                    ),
                ),
            ),
        ),
    )
