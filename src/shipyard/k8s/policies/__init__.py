"""Shipyard's policy checks of ``shipyard validate``: one function per named check, each taking the config repo
as the clusters will see it (``tree.Tree``) and saying in its docstring which behaviour of Argo CD, Argo
Rollouts, Kargo or Kubernetes it encodes. The checks that read an overlay's output see only built overlays
(``validate --no-build`` leaves them nothing to read)."""

from __future__ import annotations

from collections.abc import Callable

from shipyard.k8s.documents import Document, Finding
from shipyard.k8s.policies import (
    argocd,
    config,
    databases,
    ingress,
    install,
    job_access,
    jobs,
    kargo,
    kargo_promotion,
    rollouts,
    sync,
    verdaccio,
)
from shipyard.k8s.policies.tree import Tree

CHECKS: tuple[Callable[[Tree], list[Finding]], ...] = (
    config.pinned_images,
    config.unique_hosts,
    config.no_secret_data,
    kargo.authorized_stage,
    kargo.stage_applications,
    argocd.app_per_service,
    argocd.one_owner,
    argocd.mutable_tags,
    argocd.cluster_credentials,
    rollouts.controller,
    rollouts.canary_weights,
    rollouts.traffic_routing,
    rollouts.analysis,
    jobs.cluster_local_dns,
    databases.check_sandbox_databases,
    kargo_promotion.shared_branch_health,
    kargo_promotion.credential_match,
    kargo_promotion.one_version_freight,
    kargo_promotion.image_origin,
    kargo_promotion.stable_tag_enforced,
    kargo_promotion.commit_trailers,
    install.bootstrap_order,
    install.kargo_install,
    verdaccio.scope_proxied,
    verdaccio.deployed_config,
    ingress.ingress_class,
    ingress.ingress_tls,
    ingress.preview_images,
    ingress.platform_registry,
    job_access.command,
    job_access.git_credentials,
    job_access.pod_security,
    job_access.service_account,
    job_access.sandbox_ttl,
    sync.unsynced_promotion,
)


def check_policies(documents: list[Document], builds: dict[str, list[Document]]) -> list[Finding]:
    """Every policy check over the tree's documents and its built overlays (folder -> documents)."""
    tree = Tree(documents, builds)
    return [finding for check in CHECKS for finding in check(tree)]
