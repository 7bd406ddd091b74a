"""Argo CD: the AppProject, one Application per service and environment, one per environment for what its
services share, the app-of-apps root, the previews ApplicationSet, the Applications that deploy ``kargo/``,
``jobs/``, ``serve/`` and ``bootstrap/``, and the cluster Secrets of the clusters Argo CD does not run in.

One Application per service and environment (``user-service-dev``): each syncs, reports health and fails on
its own, and Argo CD's RBAC can give a team its services (``applications, sync, <project>/payment-*``). The
promotable state stays one file per environment, a Component every service overlay includes, so a promotion
is still one commit per stage; Kargo's ``argocd-update`` names every Application of the stage. Each
Application that a Kargo Stage updates carries the authorized-stage annotation, without which Kargo refuses to
touch it.
"""

from __future__ import annotations

from shipyard.configrepo.location import BRANCH
from shipyard.errors import ShipyardError
from shipyard.k8s.argocd import (
    ARGOCD_NAMESPACE,
    CLUSTER_SECRET_LABEL,
    IN_CLUSTER,
    MANIFEST_PATHS,
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
    environment_application_name,
)
from shipyard.k8s.base import ObjectMeta
from shipyard.k8s.core import ExternalSecret, ExternalSecretTemplate, SecretTemplateMeta
from shipyard.k8s.kargo import AUTHORIZED_STAGE
from shipyard.render.common import (
    cluster_folder,
    cluster_server,
    config_repo_url,
    kargo_project,
    part_of,
    service_names,
    store_secret,
    yaml_of,
)
from shipyard.render.kustomize import ENV_LABEL, NAME_LABEL, environment_dir, service_dir, service_sources
from shipyard.spec.model import Environment, Platform, PromotionMode
from shipyard.stages.graph import build_graph
from shipyard.workspace.model import Workspace

CREATE_NAMESPACE = "CreateNamespace=true"
SYNC_WAVE = "argocd.argoproj.io/sync-wave"
CLUSTER_CONFIG_KEY = "config"
"""The store property holding a cluster's connection config (Argo CD's JSON: bearerToken, tlsClientConfig...)."""


def render_argocd(platform: Platform, workspace: Workspace) -> dict[str, str]:
    """``argocd/app-of-apps.yaml`` and everything under ``argocd/applications/``."""
    repo = config_repo_url(platform)
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
                    directory=ApplicationSourceDirectory(recurse=True),
                ),
                Destination(server=IN_CLUSTER, namespace=ARGOCD_NAMESPACE),
                automated=True,
            )
        ),
        "argocd/applications/project.yaml": yaml_of(_project(platform)),
        "argocd/applications/previews.yaml": yaml_of(_previews(platform)),
    }
    clusters = cluster_secrets(platform)
    if clusters:
        files["argocd/applications/clusters.yaml"] = yaml_of(*clusters)
    # Platform parts deploy to the cluster Argo CD runs in, the CronJobs to the clusters they work on;
    # bootstrap first (it brings the CRDs), serve after the jobs (whose namespace, spec and service account it
    # uses). serve/ is a kustomization, not a plain directory.
    parts: list[tuple[str, str, str, bool | None, str]] = [
        ("bootstrap", "bootstrap", "-1", False, IN_CLUSTER),
        ("kargo", "kargo", "1", True, IN_CLUSTER),
    ]
    for folder in sorted(job_folders(platform)):
        server = cluster_server(platform, folder) if folder else IN_CLUSTER
        parts.append((f"jobs-{folder}" if folder else "jobs", f"jobs/{folder}".rstrip("/"), "1", False, server))
    parts.append(("serve", "serve", "2", None, IN_CLUSTER))
    names = {f"{platform.org}-root": "the app-of-apps root"}
    for name, path, wave, recurse, server in parts:
        app = _app(
            platform,
            f"{platform.org}-{name}",
            "default",
            ApplicationSource(
                repo_url=repo,
                target_revision=BRANCH,
                path=path,
                directory=None if recurse is None else ApplicationSourceDirectory(recurse=recurse),
            ),
            Destination(server=server, namespace=ARGOCD_NAMESPACE),
            automated=True,
        )
        app.metadata.annotations = {SYNC_WAVE: wave}
        files[f"argocd/applications/{name}.yaml"] = yaml_of(app)
        names[app.metadata.name] = f"the platform's {name}"
    stages = {node.name for node in build_graph(platform).stages}
    for env in platform.environments:
        environment = _environment_app(platform, env)
        _put(files, f"argocd/applications/{env.name}.yaml", yaml_of(environment))
        _claim(names, environment.metadata.name, f"environment {env.name}")
        for service in service_names(workspace):
            app = service_app(platform, env, service, kargo_stage=env.name in stages)
            files[f"argocd/applications/{env.name}/{service}.yaml"] = yaml_of(app)
            _claim(names, app.metadata.name, f"service {service} in {env.name}")
    return files


def _put(files: dict[str, str], path: str, text: str) -> None:
    if path in files:
        raise ShipyardError(f"an environment's Application would overwrite {path}", hint="rename the environment")
    files[path] = text


def _claim(names: dict[str, str], name: str, what: str) -> None:
    """Record that ``what`` is the Application ``name``: two objects of one name would be one Application."""
    if name in names:
        raise ShipyardError(
            f"two Argo CD Applications would be called '{name}': {what}, and {names[name]}",
            hint="rename the service or the environment, so that <service>-<environment> names one Application",
        )
    names[name] = what


def job_folders(platform: Platform) -> set[str]:
    """The folders of ``jobs/`` (named by ``render.common.cluster_folder``): one per cluster that runs CronJobs."""
    return {cluster_folder(platform, platform.sandbox_cluster), cluster_folder(platform, platform.preview.cluster)}


def service_app(platform: Platform, env: Environment, service: str, *, kargo_stage: bool) -> Application:
    """The Application of one service in one environment: its overlay, on the environment's cluster; a Kargo
    Stage may update it when the environment is one (``kargo_stage``)."""
    app = _app(
        platform,
        application_name(service, env.name),
        platform.org,
        ApplicationSource(
            repo_url=config_repo_url(platform), target_revision=BRANCH, path=service_dir(env.name, service)
        ),
        Destination(server=cluster_server(platform, env.cluster), namespace=env.ns),
        automated=env.promotion is not PromotionMode.manual,
    )
    app.metadata.labels = {NAME_LABEL: service, ENV_LABEL: env.name, **part_of(platform)}
    annotations = {MANIFEST_PATHS: ";".join(f"/{path}" for path in service_sources(env.name, service))}
    if kargo_stage:
        annotations[AUTHORIZED_STAGE] = f"{kargo_project(platform)}:{env.name}"
    app.metadata.annotations = annotations
    return app


def _environment_app(platform: Platform, env: Environment) -> Application:
    """What an environment's services share: its Namespace and database Secret, always in sync."""
    app = _app(
        platform,
        environment_application_name(platform.org, env.name),
        platform.org,
        ApplicationSource(repo_url=config_repo_url(platform), target_revision=BRANCH, path=environment_dir(env.name)),
        Destination(server=cluster_server(platform, env.cluster), namespace=env.ns),
        automated=True,
    )
    app.metadata.labels = {ENV_LABEL: env.name, **part_of(platform)}
    app.metadata.annotations = {MANIFEST_PATHS: f"/{environment_dir(env.name)}", SYNC_WAVE: "-1"}
    return app


def cluster_secrets(platform: Platform) -> list[ExternalSecret]:
    """Argo CD's cluster Secret of every cluster it does not run in, made from the secret store: the name and
    server are written here, the connection config (the credentials) only ever comes from the store."""
    secrets = []
    seen: set[str] = set()
    for cluster in platform.clusters:
        if not cluster.remote or cluster.server in seen:
            continue
        seen.add(cluster.server)
        template = ExternalSecretTemplate(
            metadata=SecretTemplateMeta(labels={CLUSTER_SECRET_LABEL: "cluster"}),
            data={"name": cluster.name, "server": cluster.server, "config": "{{ .config }}"},
        )
        secrets.append(
            store_secret(
                platform,
                f"cluster-{cluster.name}",
                cluster.credentials_key,
                {CLUSTER_CONFIG_KEY: CLUSTER_CONFIG_KEY},
                namespace=ARGOCD_NAMESPACE,
                template=template,
            )
        )
    return secrets


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
    """One Application per pull request: a preview is one namespace, made and removed whole, whose services
    share its throwaway database. Its manifests come from its folder and the bases only."""
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
                    labels={"shipyard.dev/preview": "true", ENV_LABEL: "preview", **part_of(platform)},
                    annotations={MANIFEST_PATHS: "/{{path}};/base"},
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
