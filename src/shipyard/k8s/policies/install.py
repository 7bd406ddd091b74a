"""Cross-object checks of the Argo CD Applications in a config repo and of the platform parts they install:
would the tree install and converge on a cluster? Each check names the upstream behaviour it encodes."""

from __future__ import annotations

import re
from typing import Any

from shipyard.k8s.argocd import SKIP_DRY_RUN
from shipyard.k8s.documents import Document, Finding
from shipyard.k8s.policies.tree import Tree

APPLICATION_HEALTH = "resource.customizations.health.argoproj.io_Application"
_BUILTIN_GROUP = re.compile(r"[a-z0-9]+|[a-z0-9.]*\.k8s\.io")


def _finding(doc: Document, path: str, check: str, message: str) -> Finding:
    return Finding(doc.file, doc.index, doc.label, path, check, "error", message)


def _sources(app: Document) -> list[dict[str, Any]]:
    spec = app.data.get("spec") or {}
    found = spec.get("sources") or ([spec["source"]] if isinstance(spec.get("source"), dict) else [])
    return [s for s in found if isinstance(s, dict)]


def _sync_options(app: Document) -> list[str]:
    return [str(o) for o in ((app.data.get("spec") or {}).get("syncPolicy") or {}).get("syncOptions") or []]


def _application_health_configured(documents: list[Document]) -> bool:
    return any(
        d.kind == "ConfigMap" and d.name == "argocd-cm" and APPLICATION_HEALTH in (d.data.get("data") or {})
        for d in documents
    )


def _custom_kinds(docs: list[Document]) -> list[str]:
    """The custom kinds among ``docs`` whose CRD ``docs`` do not bring themselves."""
    own = {
        str(((d.data.get("spec") or {}).get("names") or {}).get("kind"))
        for d in docs
        if d.kind == "CustomResourceDefinition"
    }
    kinds: set[str] = set()
    for doc in docs:
        api_version = doc.data.get("apiVersion")
        if not isinstance(api_version, str) or "/" not in api_version or doc.kind in own:
            continue
        if doc.kind in ("Kustomization", "Component") and api_version.startswith("kustomize.config.k8s.io/"):
            continue
        if not _BUILTIN_GROUP.fullmatch(api_version.rsplit("/", 1)[0]):
            kinds.add(f"{api_version.rsplit('/', 1)[0]}/{doc.kind}")
    return sorted(kinds)


def _kargo_values(app: Document) -> dict[str, Any] | None:
    for source in _sources(app):
        if source.get("chart") == "kargo":
            helm = source.get("helm") or {}
            values = helm.get("valuesObject")
            return values if isinstance(values, dict) else {}
    return None


def _get(values: dict[str, Any], path: str, default: Any) -> Any:
    current: Any = values
    for key in path.split("."):
        if not isinstance(current, dict) or key not in current:
            return default
        current = current[key]
    return current


# The Kargo chart's certificates and their defaults (charts/kargo/values.yaml, v1.11): each is made by
# cert-manager while its selfSignedCert is true and the part that uses it is enabled.
_KARGO_CERTS = (
    ("webhooksServer.enabled", True, "webhooksServer.tls.selfSignedCert"),
    ("api.tls.enabled", True, "api.tls.selfSignedCert"),
    ("externalWebhooksServer.tls.enabled", True, "externalWebhooksServer.tls.selfSignedCert"),
)


def _kargo_uses_cert_manager(values: dict[str, Any]) -> list[str]:
    return [
        cert for enabled, default, cert in _KARGO_CERTS if _get(values, enabled, default) and _get(values, cert, True)
    ]


def bootstrap_order(tree: Tree) -> list[Finding]:
    """``argocd/bootstrap-order``: an Application deploying custom kinds whose CRD another Application
    installs, with nothing that makes it wait for them.

    Argo CD 3.x assesses no health for ``argoproj.io/Application`` unless ``argocd-cm`` configures
    ``resource.customizations.health.argoproj.io_Application``, so an app-of-apps' sync waves do not wait for
    the Application that brings a CRD. The dependent Application's dry run then fails on the unknown kind
    unless it syncs with ``SkipDryRunOnMissingResource=true`` (and retries until the kind is served).
    """
    documents = tree.documents
    if _application_health_configured(documents):
        return []
    findings: list[Finding] = []
    for app in (d for d in documents if d.kind == "Application"):
        if SKIP_DRY_RUN in _sync_options(app):
            continue
        kinds: list[str] = []
        for source in _sources(app):
            path = source.get("path")
            if isinstance(path, str) and path:
                prefix = path.rstrip("/") + "/"
                kinds += _custom_kinds([d for d in documents if d.file.startswith(prefix)])
        values = _kargo_values(app)
        if values is not None and _kargo_uses_cert_manager(values):
            kinds += ["cert-manager.io/Certificate", "cert-manager.io/Issuer"]
        if kinds:
            findings.append(
                _finding(
                    app,
                    "$.spec.syncPolicy.syncOptions",
                    "argocd/bootstrap-order",
                    f"Application {app.name} deploys {', '.join(sorted(set(kinds)))}, whose CRDs another "
                    "Application installs, and Argo CD's sync waves do not wait for an Application's health by "
                    f"default: add {SKIP_DRY_RUN} (with retries), or the Application health check to argocd-cm",
                )
            )
    return findings


def kargo_install(tree: Tree) -> list[Finding]:
    """``kargo/webhook-certs`` and ``kargo/login``: a Kargo chart Application that cannot install, or that
    nobody can sign in to.

    The Kargo chart (``charts/kargo``, v1.11) makes the certificates of its webhooks server, API server and
    external webhooks server with cert-manager while their ``selfSignedCert`` is true (the default): without
    cert-manager's CRDs the chart's Issuer and Certificates are refused, the webhook has no certificate, and
    the API server refuses every Kargo object. The admin account is the only login unless ``api.oidc`` is
    enabled, and when it is on the chart needs its password hash and token signing key, as values or in the
    Secret ``api.secret.name``.
    """
    documents = tree.documents
    cert_manager = any(
        d.kind == "Application" and any(s.get("chart") == "cert-manager" for s in _sources(d)) for d in documents
    )
    findings: list[Finding] = []
    for app in (d for d in documents if d.kind == "Application"):
        values = _kargo_values(app)
        if values is None:
            continue
        where = "$.spec.source.helm.valuesObject"
        certs = _kargo_uses_cert_manager(values)
        if certs and not cert_manager:
            findings.append(
                _finding(
                    app,
                    where,
                    "kargo/webhook-certs",
                    f"the Kargo chart makes its certificates with cert-manager ({', '.join(certs)} true), but no "
                    "Application installs cert-manager: install it, or set selfSignedCert false and provide the "
                    "certificate Secrets",
                )
            )
        admin = _get(values, "api.adminAccount.enabled", True)
        oidc = _get(values, "api.oidc.enabled", False)
        if not admin and not oidc:
            findings.append(
                _finding(
                    app,
                    where,
                    "kargo/login",
                    "Kargo's admin account is off and api.oidc is not enabled: nobody can sign in to approve a "
                    "promotion; enable api.oidc (issuerURL, clientID) or the admin account",
                )
            )
        secret_given = _get(values, "api.secret.name", "")
        hashed = _get(values, "api.adminAccount.passwordHash", "") and _get(
            values, "api.adminAccount.tokenSigningKey", ""
        )
        if admin and not secret_given and not hashed:
            findings.append(
                _finding(
                    app,
                    where,
                    "kargo/login",
                    "Kargo's admin account is on without a password hash and token signing key: set api.secret.name "
                    "to a Secret holding ADMIN_ACCOUNT_PASSWORD_HASH and ADMIN_ACCOUNT_TOKEN_SIGNING_KEY",
                )
            )
    return findings
