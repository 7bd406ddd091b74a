"""Helpers every render target shares: names, labels, the config repo's URL, YAML of typed objects."""

from __future__ import annotations

from shipyard.k8s.argocd import IN_CLUSTER
from shipyard.k8s.base import K8sModel, ObjectMeta
from shipyard.k8s.core import (
    ExternalSecret,
    ExternalSecretData,
    ExternalSecretRemoteRef,
    ExternalSecretSpec,
    ExternalSecretTarget,
    ExternalSecretTemplate,
    SecretStoreRef,
)
from shipyard.k8s.yaml import dump_all
from shipyard.spec.model import INGRESS_CLASS as INGRESS_CLASS  # the spec's: one table for every Ingress
from shipyard.spec.model import Platform
from shipyard.workspace.model import Workspace

MANAGED_BY = {"app.kubernetes.io/managed-by": "shipyard"}


def yaml_of(*objects: K8sModel) -> str:
    """Typed objects as a YAML stream, in the order given."""
    return dump_all(obj.to_dict() for obj in objects)


def service_names(workspace: Workspace) -> list[str]:
    """The services, sorted by name."""
    return [project.name for project in workspace.services]


def config_repo_url(platform: Platform) -> str:
    """Where Argo CD and Kargo read the config repo: ``repos.config``, else the seed's GitHub layout."""
    return platform.repos.config or f"https://github.com/{platform.org}/gitops-config.git"


def cluster_server(platform: Platform, cluster: str) -> str:
    """The API server URL of a cluster named in the spec, as Argo CD addresses it."""
    return platform.cluster(cluster).server


def cluster_folder(platform: Platform, cluster: str) -> str:
    """How a folder of things that run on one cluster is named: "" for Argo CD's own cluster (the platform
    parts' cluster), else the name of the first cluster of the spec reached at the same server."""
    server = cluster_server(platform, cluster)
    if server == IN_CLUSTER:
        return ""
    return next(c.name for c in platform.clusters if c.server == server)


def kargo_project(platform: Platform) -> str:
    """The Kargo Project (and its namespace)."""
    return platform.org


def part_of(platform: Platform) -> dict[str, str]:
    """Labels on every object Shipyard renders."""
    return {"app.kubernetes.io/part-of": platform.org, **MANAGED_BY}


def store_secret(
    platform: Platform,
    name: str,
    remote: str,
    keys: dict[str, str],
    *,
    namespace: str | None = None,
    template: ExternalSecretTemplate | None = None,
) -> ExternalSecret:
    """The ExternalSecret that makes Secret ``name`` from the store's ``<org>/<remote>``; ``keys`` maps
    each Secret key to the remote property it comes from. The Secret's values never enter git."""
    assert platform.secrets.store is not None, "rendered only when spec.secrets.store is set"
    return ExternalSecret(
        metadata=ObjectMeta(name=name, namespace=namespace, labels=part_of(platform)),
        spec=ExternalSecretSpec(
            secret_store_ref=SecretStoreRef(name=platform.secrets.store),
            target=ExternalSecretTarget(name=name, template=template),
            data=[
                ExternalSecretData(
                    secret_key=key, remote_ref=ExternalSecretRemoteRef(key=f"{platform.org}/{remote}", property=prop)
                )
                for key, prop in keys.items()
            ],
        ),
    )
