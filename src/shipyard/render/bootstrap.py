"""``bootstrap/``: the seed's installation steps as Argo CD Applications, each at a pinned version, in the
cluster Argo CD runs in; Argo Rollouts in every cluster that runs a Rollout.

Tekton and Argo Rollouts publish release manifests, not charts: their Applications build a small
kustomization here that points at the pinned release file. Kargo, Harbor and Verdaccio are Helm
charts with values from the spec. Credentials are Secret names in the values, never values.
"""

from __future__ import annotations

from typing import Any

from shipyard.configrepo.location import BRANCH
from shipyard.k8s.argocd import (
    ARGOCD_NAMESPACE,
    IN_CLUSTER,
    RESOURCES_FINALIZER,
    SKIP_DRY_RUN,
    Application,
    ApplicationSource,
    ApplicationSourceHelm,
    ApplicationSpec,
    Automated,
    Destination,
    Retry,
    SyncPolicy,
)
from shipyard.k8s.base import ObjectMeta
from shipyard.k8s.kustomize import Kustomization
from shipyard.render.common import (
    INGRESS_CLASS,
    cluster_folder,
    cluster_server,
    config_repo_url,
    part_of,
    store_secret,
    yaml_of,
)
from shipyard.render.kustomize import uses_rollout
from shipyard.render.verdaccio import HTPASSWD_SECRET, verdaccio_values
from shipyard.spec.model import Access, Environment, Platform
from shipyard.workspace.model import Workspace

# The one place the platform's component versions are pinned.
VERSIONS = {
    "tekton-pipelines": "v1.15.0",
    "tekton-triggers": "v0.37.0",
    "tekton-dashboard": "v0.62.0",
    "argo-rollouts": "v1.9.1",
    "kargo": "1.11.2",
    "cert-manager": "v1.18.2",
    "harbor": "1.19.1",
    "verdaccio": "4.26.1",
}
_TEKTON = "https://storage.googleapis.com/tekton-releases"
KARGO_ADMIN_SECRET = "kargo-api-admin"
SYNC_WAVE = "argocd.argoproj.io/sync-wave"
BOOTSTRAP_RETRY = Retry(limit=10)
ROLLOUTS = "argo-rollouts"


def _manifests() -> dict[str, tuple[str, list[str]]]:
    v = VERSIONS
    return {
        "tekton-pipelines": ("tekton-pipelines", [f"{_TEKTON}/pipeline/previous/{v['tekton-pipelines']}/release.yaml"]),
        "tekton-triggers": (
            "tekton-pipelines",
            [
                f"{_TEKTON}/triggers/previous/{v['tekton-triggers']}/release.yaml",
                f"{_TEKTON}/triggers/previous/{v['tekton-triggers']}/interceptors.yaml",
            ],
        ),
        "tekton-dashboard": (
            "tekton-pipelines",
            [f"{_TEKTON}/dashboard/previous/{v['tekton-dashboard']}/release.yaml"],
        ),
        "argo-rollouts": (
            "argo-rollouts",
            [f"https://github.com/argoproj/argo-rollouts/releases/download/{v['argo-rollouts']}/install.yaml"],
        ),
    }


def render_bootstrap(platform: Platform, workspace: Workspace) -> dict[str, str]:
    """One Application per component; release-manifest components also get their kustomization."""
    files: dict[str, str] = {}
    repo = config_repo_url(platform)
    for name, (namespace, urls) in _manifests().items():
        servers = {"": IN_CLUSTER}
        if name == ROLLOUTS:
            # Every cluster that runs a Rollout needs the controller: without it the Rollout objects are never
            # acted on (and without its CRDs, not even accepted).
            servers = {
                cluster_folder(platform, e.cluster): cluster_server(platform, e.cluster) for e in rollout_envs(platform)
            }
        if not servers:
            continue
        files[f"bootstrap/{name}/kustomization.yaml"] = yaml_of(Kustomization(resources=urls))
        for folder, server in sorted(servers.items()):
            app_name = f"{name}-{folder}" if folder else name
            source = ApplicationSource(repo_url=repo, target_revision=BRANCH, path=f"bootstrap/{name}")
            files[f"bootstrap/{app_name}.yaml"] = yaml_of(_app(platform, app_name, namespace, source, server))
    charts: list[tuple[str, str, str, str, dict[str, Any]]] = [
        # Kargo's chart makes its webhook and API certificates with cert-manager (selfSignedCert).
        ("cert-manager", "cert-manager", "https://charts.jetstack.io", "cert-manager", {"crds": {"enabled": True}}),
        ("kargo", "kargo", "ghcr.io/akuity/kargo-charts", "kargo", kargo_values(platform)),
        ("verdaccio", "verdaccio", "https://charts.verdaccio.org", "verdaccio", verdaccio_values(platform)),
    ]
    if platform.registry.kind == "harbor":
        charts.append(("harbor", "harbor", "https://helm.goharbor.io", "harbor", _harbor_values(platform)))
    for name, namespace, chart_repo, chart, values in charts:
        source = ApplicationSource(
            repo_url=chart_repo,
            chart=chart,
            target_revision=VERSIONS[name],
            helm=ApplicationSourceHelm(release_name=name, values_object=values),
        )
        app = _app(platform, name, namespace, source)
        if name == "cert-manager":
            app.metadata.annotations = {SYNC_WAVE: "-1"}
        files[f"bootstrap/{name}.yaml"] = yaml_of(app)
    if platform.secrets.store:
        files["bootstrap/verdaccio-htpasswd.yaml"] = yaml_of(
            store_secret(platform, HTPASSWD_SECRET, "verdaccio", {"htpasswd": "htpasswd"}, namespace="verdaccio")
        )
    if platform.secrets.store and platform.auth.admin_enabled:
        files["bootstrap/kargo-admin.yaml"] = yaml_of(
            store_secret(
                platform,
                KARGO_ADMIN_SECRET,
                "kargo-admin",
                {"ADMIN_ACCOUNT_PASSWORD_HASH": "passwordHash", "ADMIN_ACCOUNT_TOKEN_SIGNING_KEY": "tokenSigningKey"},
                namespace="kargo",
            )
        )
    return files


def rollout_envs(platform: Platform) -> list[Environment]:
    """The environments whose strategy runs an Argo Rollout (canary, blue-green)."""
    return [env for env in platform.environments if uses_rollout(env)]


def _app(
    platform: Platform, name: str, namespace: str, source: ApplicationSource, server: str = IN_CLUSTER
) -> Application:
    return Application(
        metadata=ObjectMeta(
            name=name, namespace=ARGOCD_NAMESPACE, labels=part_of(platform), finalizers=[RESOURCES_FINALIZER]
        ),
        spec=ApplicationSpec(
            project="default",
            source=source,
            destination=Destination(server=server, namespace=namespace),
            sync_policy=SyncPolicy(
                automated=Automated(prune=True, self_heal=True),
                # Argo CD assesses no Application health by default, so the sync waves of these Applications
                # do not wait for the CRDs another one brings (cert-manager's, for Kargo's Certificates): the
                # dry run skips kinds not served yet, and the retries apply them once they are.
                sync_options=["CreateNamespace=true", "ServerSideApply=true", SKIP_DRY_RUN],
                retry=BOOTSTRAP_RETRY,
            ),
        ),
    )


def kargo_values(platform: Platform) -> dict[str, Any]:
    """The Kargo chart's values from ``auth``: the admin account (its password hash and token signing key in
    the ``kargo-api-admin`` Secret, never in git) and the OIDC provider. Certificates stay the chart's
    default (self-signed, through cert-manager, which bootstrap installs)."""
    auth = platform.auth
    api: dict[str, Any] = {"enabled": True, "adminAccount": {"enabled": auth.admin_enabled}}
    if auth.admin_enabled:
        api["secret"] = {"name": KARGO_ADMIN_SECRET}
    if auth.oidc is not None:
        oidc: dict[str, Any] = {"enabled": True, "issuerURL": auth.oidc.issuer_url, "clientID": auth.oidc.client_id}
        if auth.oidc.cli_client_id:
            oidc["cliClientID"] = auth.oidc.cli_client_id
        if auth.oidc.admins:
            oidc["admins"] = {"claims": {"email": list(auth.oidc.admins)}}
        api["oidc"] = oidc
    return {"api": api, "controller": {"enabled": True}}


def _harbor_values(platform: Platform) -> dict[str, Any]:
    host = platform.registry.host
    return {
        "expose": {
            "type": "ingress",
            "tls": {"enabled": True, "certSource": "secret", "secret": {"secretName": "harbor-tls"}},
            # The internal controller's class: nodes, CI and people pull from the private network.
            "ingress": {"hosts": {"core": host}, "className": INGRESS_CLASS[Access.internal]},
        },
        "externalURL": f"https://{host}",
        "persistence": {"enabled": True},
        "trivy": {"enabled": True},
        "existingSecretAdminPassword": "harbor-admin",
        "existingSecretAdminPasswordKey": "HARBOR_ADMIN_PASSWORD",
    }
