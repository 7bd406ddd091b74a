"""The typed platform spec. Every field defaults to the seed's value, so a file with only org, domain
and registry is a complete platform. Keys are camelCase in YAML, as in Kubernetes objects."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from shipyard.errors import ShipyardError
from shipyard.k8s.argocd import IN_CLUSTER
from shipyard.spec.approvals import (
    ApprovalPolicy,
    Email,
    GroupName,
    IdentitySettings,
    Person,
    PersonId,
    approval_problems,
)
from shipyard.spec.base import DNS_LABEL, DnsLabel, SpecModel
from shipyard.spec.cron import cron_problem
from shipyard.spec.duration import Duration
from shipyard.spec.template import TemplateError, dns_subdomain_problem, parse_template
from shipyard.spec.urls import credential_problem, location_problem, text_problem, word_problem

API_VERSION: Literal["shipyard.dev/v1alpha1"] = "shipyard.dev/v1alpha1"
KIND: Literal["Platform"] = "Platform"

# pydantic checks patterns with Rust's regex, whose `$` is the end of the text (no trailing newline).
DnsSubdomain = Annotated[str, Field(pattern=rf"^{DNS_LABEL}(\.{DNS_LABEL})*$", max_length=253)]
_DOMAIN = re.compile(rf"{DNS_LABEL}(\.{DNS_LABEL})+")

MAX_PR_NUMBER = 2**31 - 1
"""The largest pull request number Shipyard accepts (GitHub's numbers are 32-bit); it bounds the length of
every name a preview gets."""


def pr_number_problem(number: int) -> str | None:
    """Why ``number`` is not a pull request number (1 to MAX_PR_NUMBER), or None."""
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= MAX_PR_NUMBER:
        return f"{str(number)[:20]} is not a pull request number (1 to {MAX_PR_NUMBER})"
    return None


HOST_FIELDS = frozenset({"service", "env", "domain", "org"})
PREVIEW_HOST_FIELDS = frozenset({"number", "service", "domain", "org"})
PREVIEW_NAMESPACE_FIELDS = frozenset({"number"})


def _location(value: str, kind: str) -> str:
    """A URL or path of the spec: refused when a command line could misread it or it carries a credential."""
    problem = location_problem(value, kind)
    if problem:
        raise ValueError(problem)
    return value


def _cron(schedule: str) -> str:
    problem = cron_problem(schedule)
    if problem:
        raise ValueError(problem)
    return schedule


def _host_pattern(pattern: str, fields: frozenset[str], required: tuple[str, ...]) -> str:
    """A host pattern: only ``fields``, every ``required`` one, and a DNS name once filled in."""
    try:
        template = parse_template(pattern, fields)
    except TemplateError as exc:
        raise ValueError(str(exc)) from None
    for name in required:
        if name not in template.fields:
            raise ValueError(f"the host pattern must contain {{{name}}}, e.g. {{service}}.dev.{{domain}}")
    sample = template.render(**{name: "a" for name in template.fields})
    if dns_subdomain_problem(sample):
        raise ValueError(
            f"'{pattern}' does not make a DNS name (dot-separated labels that start and end with a letter or digit)"
        )
    return pattern


class Maturity(StrEnum):
    """How far a version has come: alpha (develop), beta (release/hotfix), stable (main)."""

    alpha = "alpha"
    beta = "beta"
    stable = "stable"


class Access(StrEnum):
    """Who may reach an environment; it picks the ingress class."""

    public = "public"
    internal = "internal"


# The ingress class of each access: one ingress-nginx controller faces the internet, the other only the private
# network. ingress-nginx serves only Ingresses whose ``ingressClassName`` names its IngressClass, so every
# Ingress Shipyard writes (environments, previews, the platform's parts) takes its class from here.
INGRESS_CLASS = {Access.public: "nginx-public", Access.internal: "nginx-internal"}


class PromotionMode(StrEnum):
    """How freight enters an environment: automatically, by approval, or mirrored from another one."""

    auto = "auto"
    manual = "manual"
    mirror = "mirror"


class Smoke(SpecModel):
    """Argo Rollouts' controller asks the new version's pods directly, through their Service: an answer
    outside 2xx (or none) three times in a row aborts the rollout. Needs no traffic and nothing installed."""

    path: str = Field(default="/", pattern=r"^/[^\s]*$")
    """The path requested, e.g. /healthz; the service must answer it with 2xx."""
    interval: Duration = "30s"


class Prometheus(SpecModel):
    """The canary's share of answers that are not 5xx, from ingress-nginx's request metrics in Prometheus."""

    address: str
    """The Prometheus server, e.g. http://prometheus-operated.monitoring.svc:9090."""
    success_rate: float = Field(default=0.95, gt=0, le=1)
    """The lowest share of non-5xx answers a canary may give, measured over two intervals."""
    interval: Duration = "1m"

    @field_validator("address")
    @classmethod
    def _http_url(cls, address: str) -> str:
        parts = urlsplit(address)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"'{address}' is not an http(s) URL such as http://prometheus.monitoring.svc:9090")
        return _location(address, "prometheus").rstrip("/")


class Analysis(SpecModel):
    """What aborts a bad new version by itself: a smoke check (the default), Prometheus metrics, or both."""

    smoke: Smoke | None = Field(default_factory=Smoke)
    prometheus: Prometheus | None = None

    @model_validator(mode="after")
    def _something(self) -> Analysis:
        if self.smoke is None and self.prometheus is None:
            raise ValueError("an analysis needs smoke, prometheus or both; without one a bad version is never aborted")
        return self


class Canary(SpecModel):
    """A canary rollout: traffic weights in percent (ingress-nginx sends exactly that share of requests to the
    canary), each followed by a pause (the last one is not), with an analysis running in the background."""

    steps: list[Annotated[int, Field(ge=1, le=100)]] = Field(default_factory=lambda: [10, 25, 50, 100])
    pause: Duration = "5m"
    analysis: Analysis = Field(default_factory=Analysis)

    @field_validator("steps")
    @classmethod
    def _increasing(cls, steps: list[int]) -> list[int]:
        if not steps or steps != sorted(set(steps)) or steps[-1] != 100:
            raise ValueError("canary steps must be strictly increasing percentages ending at 100")
        return steps


class BlueGreen(SpecModel):
    """Blue-green: a preview service receives the new version before the active one switches. The smoke
    analysis runs on the preview before the switch; a failure aborts it and the active version stays."""

    auto_promotion_enabled: bool = False
    scale_down_delay: Duration = "30s"
    analysis: Analysis = Field(default_factory=Analysis)

    @field_validator("analysis")
    @classmethod
    def _smoke_only(cls, analysis: Analysis) -> Analysis:
        if analysis.prometheus is not None or analysis.smoke is None:
            raise ValueError(
                "blue-green analyses the preview before the switch, and no ingress sends it traffic: "
                "use smoke (and no prometheus)"
            )
        return analysis


class Strategy(SpecModel):
    """Exactly one of the deployment strategies of the seed's table."""

    recreate: bool | None = None
    rolling: bool | None = None
    canary: Canary | None = None
    blue_green: BlueGreen | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_word(cls, value: Any) -> Any:
        # `strategy: rolling` is the common short form; `strategy: {canary: {...}}` the long one.
        if isinstance(value, str):
            words: dict[str, dict[str, Any]] = {
                "recreate": {"recreate": True},
                "rolling": {"rolling": True},
                "canary": {"canary": {}},
                "bluegreen": {"blueGreen": {}},
                "blueGreen": {"blueGreen": {}},
            }
            if value not in words:
                raise ValueError(f"unknown strategy '{value}'; valid: recreate, rolling, canary, blueGreen")
            return words[value]
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> Strategy:
        chosen = [n for n in ("recreate", "rolling", "canary", "blue_green") if getattr(self, n)]
        if len(chosen) != 1:
            raise ValueError("choose exactly one strategy: recreate, rolling, canary or blueGreen")
        return self

    @property
    def kind(self) -> Literal["recreate", "rolling", "canary", "blueGreen"]:
        """The strategy's name as written in the spec."""
        if self.recreate:
            return "recreate"
        if self.rolling:
            return "rolling"
        if self.canary:
            return "canary"
        return "blueGreen"


def _check_url_has_no_password(url: str) -> str:
    from shipyard.dburl import ConninfoError, parse_conninfo, printable

    parts = urlsplit(url)
    if not parts.scheme or not (parts.hostname or parts.path):
        raise ValueError(f"'{printable(url)}' is not a URL such as postgresql://host:5432/dbname")
    try:
        params = parse_conninfo(url)  # as libpq reads it: a password may also hide in the query string
    except ConninfoError as exc:
        raise ValueError(f"'{printable(url)}' cannot be read as libpq reads it: {exc.message}") from None
    credential = credential_problem(url, "database")
    if parts.password or "password" in params or credential:
        reason = credential or "put it in the Secret named by secretRef"
        raise ValueError(f"a database url must not carry a password: {reason}")
    _location(url, "database")
    return url


class Database(SpecModel):
    """Where an environment's database is; the password lives in the referenced Secret, never here."""

    url: str
    secret_ref: DnsLabel

    @field_validator("url")
    @classmethod
    def _no_password(cls, url: str) -> str:
        return _check_url_has_no_password(url)


class Environment(SpecModel):
    """One row of the seed's environment matrix."""

    name: DnsLabel
    cluster: DnsLabel = "staging"
    namespace: DnsLabel | None = None
    access: Access = Access.internal
    database: Database | None = None
    strategy: Strategy = Field(default_factory=lambda: Strategy(rolling=True))
    promotion: PromotionMode = PromotionMode.manual
    maturities: list[Maturity] = Field(default_factory=lambda: [Maturity.alpha])
    host: str = "{service}.{env}.{domain}"
    upstream: str | None = None
    approvals: ApprovalPolicy | None = None
    """Who decides on freight entering this manual stage (see spec/approvals.py for the default)."""

    @field_validator("host")
    @classmethod
    def _host_names_service(cls, host: str) -> str:
        return _host_pattern(host, HOST_FIELDS, ("service",))

    @property
    def ns(self) -> str:
        """The namespace, defaulting to the environment's name."""
        return self.namespace or self.name

    def host_pattern(self, domain: str, org: str = "") -> str:
        """The host pattern with everything but ``{service}`` filled in (what ``check`` shows)."""
        return parse_template(self.host, HOST_FIELDS).render(service="{service}", env=self.name, domain=domain, org=org)

    def host_for(self, service: str, domain: str, org: str = "") -> str:
        """The ingress host of a service in this environment; a ShipyardError when it is not a DNS name."""
        host = parse_template(self.host, HOST_FIELDS).render(service=service, env=self.name, domain=domain, org=org)
        problem = dns_subdomain_problem(host)
        if problem:
            raise ShipyardError(
                f"environments.{self.name}.host '{self.host}' makes {problem}",
                hint="shorten the service's name or the host pattern",
            )
        return host


class Cluster(SpecModel):
    """A Kubernetes cluster Argo CD deploys to. Argo CD calls the cluster it runs in ``IN_CLUSTER``; every other
    cluster is reached with credentials that come from the secret store, never from git."""

    name: DnsLabel
    server: str = IN_CLUSTER
    credentials: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
    """The secret store's key (under ``<org>/``) of Argo CD's connection ``config`` for this cluster; default
    ``clusters/<name>``. Only a cluster that is not Argo CD's own needs it."""

    @field_validator("credentials")
    @classmethod
    def _a_key_below_the_org(cls, key: str | None) -> str | None:
        # The key is read below ``<org>/`` in the secret store: '..' or an empty segment would leave it.
        if key is not None and any(part in ("", ".", "..") for part in key.split("/")):
            raise ValueError(f"'{key}' is not a key below the org such as clusters/staging (no '..', no '//')")
        return key

    @property
    def remote(self) -> bool:
        """True when Argo CD does not run in this cluster, so it needs credentials to reach it."""
        return self.server != IN_CLUSTER

    @property
    def credentials_key(self) -> str:
        """The secret store key of the cluster's credentials, below the org."""
        return self.credentials or f"clusters/{self.name}"

    @field_validator("server")
    @classmethod
    def _server(cls, server: str) -> str:
        _location(server, "cluster")
        if urlsplit(server).scheme != "https" or not urlsplit(server).hostname:
            raise ValueError(f"'{server}' is not an https URL such as https://kubernetes.default.svc")
        return server


class ScanPolicy(SpecModel):
    """Harbor's project-level scanning policy: scan on push, and refuse pulls at or above a severity."""

    scan_on_push: bool = True
    prevent_vulnerable: bool = True
    severity_threshold: Literal["none", "low", "medium", "high", "critical"] = "high"


class RegistryProjects(SpecModel):
    """Registry projects (Harbor projects, or path prefixes on a plain OCI registry)."""

    services: DnsLabel = "services"
    base_images: DnsLabel = "base-images"


class Registry(SpecModel):
    """Where images go. ``local`` is an OCI image layout directory: the embedded default, no server."""

    kind: Literal["harbor", "oci", "local"] = "harbor"
    url: str
    projects: RegistryProjects = Field(default_factory=RegistryProjects)
    scan: ScanPolicy = Field(default_factory=ScanPolicy)
    insecure: bool = False

    @field_validator("url")
    @classmethod
    def _no_scheme_for_registries(cls, url: str) -> str:
        if not url.strip():
            raise ValueError("the registry url must not be empty")
        return _location(url, "registry").rstrip("/")

    def image(self, service: str) -> str:
        """The repository of a service's image, e.g. ``harbor.acme.example.com/services/user-service``."""
        return f"{self.repositories}/{service}"

    @property
    def repositories(self) -> str:
        """The folder of the service image repositories, e.g. ``harbor.acme.example.com/services``."""
        return f"{self.host}/{self.projects.services}"

    @property
    def host(self) -> str:
        """The registry host as it appears in image references; ``localhost`` for the local layout store."""
        return "localhost" if self.kind == "local" else self.url.split("://", 1)[-1]


class Npm(SpecModel):
    """The private npm registry (Verdaccio) and the scope of the workspace packages."""

    registry: str | None = None
    scope: str | None = Field(default=None, pattern=r"^@[a-z0-9][a-z0-9._-]*$", max_length=214)

    @field_validator("registry")
    @classmethod
    def _registry(cls, url: str | None) -> str | None:
        if url is not None:
            _location(url, "npm")
            if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
                raise ValueError(f"'{url}' is not an http(s) URL such as https://verdaccio.acme.example.com")
        return url


class Repos(SpecModel):
    """The two repositories: the application monorepo and the GitOps config repo (URLs or local paths)."""

    app: str | None = None
    config: str | None = None

    @field_validator("app", "config")
    @classmethod
    def _repository(cls, location: str | None) -> str | None:
        return None if location is None else _location(location, "repos")


class Preview(SpecModel):
    """Per-pull-request environments: a namespace and hosts per PR, removed when it closes or its TTL runs out."""

    cluster: DnsLabel = "staging"
    namespace: str = "pr-{number}"
    ttl: Duration = "7d"
    host: str = "pr-{number}-{service}.preview.{domain}"
    cleanup_schedule: str = "0 */6 * * *"
    access: Access = Access.public

    @field_validator("namespace")
    @classmethod
    def _namespace_has_number(cls, value: str) -> str:
        try:
            template = parse_template(value, PREVIEW_NAMESPACE_FIELDS, "a-z0-9-")
        except TemplateError as exc:
            raise ValueError(f"{exc}; the namespace is a DNS label such as pr-{{number}}") from None
        if template.parts.count("number") != 1:
            raise ValueError("the preview namespace pattern must contain {number} once, e.g. pr-{number}")
        for number in (1, MAX_PR_NUMBER):
            name = template.render(number=str(number))
            if len(name) > 63 or not re.fullmatch(DNS_LABEL, name):
                raise ValueError(
                    f"'{value}' makes '{name}' for PR {number}: not a DNS label of at most 63 characters "
                    "(lower-case letters, digits, '-', starting with a letter or digit)"
                )
        return value

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        return _host_pattern(value, PREVIEW_HOST_FIELDS, ("number", "service"))

    @field_validator("cleanup_schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        return _cron(value)


class SandboxDatabase(SpecModel):
    """The sandbox's database: an anonymized clone of production, or synthetic data."""

    strategy: Literal["anonymize", "synthetic"] = "anonymize"
    url: str = "postgresql://sandbox-db.sandbox.svc.cluster.local:5432/app"
    secret_ref: DnsLabel = "sandbox-db"
    rules: str | None = None
    """The masking rules file (relative to shipyard.yaml) of the daily anonymized clone; without it no clone runs."""

    @field_validator("rules")
    @classmethod
    def _inside_the_workspace(cls, rules: str | None) -> str | None:
        # render copies the file into a ConfigMap of the config repo: it must be the workspace's own file.
        if rules is not None:
            parts = rules.replace("\\", "/").split("/")
            if text_problem(rules) or rules.startswith("/") or ".." in parts or rules.endswith("/"):
                raise ValueError(f"{rules!r} is not a file path inside the workspace, relative to shipyard.yaml")
        return rules

    rows: int = Field(default=1000, ge=1)
    """Rows per table of the daily synthetic data."""

    @field_validator("url")
    @classmethod
    def _no_password(cls, url: str) -> str:
        return _check_url_has_no_password(url)


class Sandbox(SpecModel):
    """The daily production clone: production's images in their own namespace, with their own data and a TTL."""

    cluster: DnsLabel = "production"
    namespace: DnsLabel = "sandbox"
    ttl: Duration = "24h"
    schedule: str = "0 0 * * *"
    access: Access = Access.public
    database: SandboxDatabase = Field(default_factory=SandboxDatabase)

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        return _cron(value)


class Versioning(SpecModel):
    """How versions are computed: the tag prefix and the bump policy for develop."""

    # Empty, or a letter or '_' first (a git tag and an OCI tag may not start with '-' or '.'), no '..'
    # (git refuses it), no digit (a version starts at the first digit), short enough to leave room for
    # the version within an OCI tag's 128 characters.
    tag_prefix: str = Field(default="v", pattern=r"^(?:[A-Za-z_][A-Za-z_-]*(?:\.[A-Za-z_-]+)*\.?)?$", max_length=32)
    bump: Literal["minor", "conventional"] = "minor"


ResourceName = Literal["cpu", "memory"]


def _default_requests() -> dict[ResourceName, str]:
    return {"cpu": "100m", "memory": "128Mi"}


def _default_limits() -> dict[ResourceName, str]:
    return {"memory": "256Mi"}


class Resources(SpecModel):
    """Container resource requests and limits."""

    requests: dict[ResourceName, str] = Field(default_factory=_default_requests)
    limits: dict[ResourceName, str] = Field(default_factory=_default_limits)


class ServiceOverride(SpecModel):
    """Per-service settings; anything not set takes the platform default."""

    port: int = Field(default=8080, ge=1, le=65535)
    replicas: dict[str, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    resources: Resources = Field(default_factory=Resources)
    env: dict[str, str] = Field(default_factory=dict)


class WorkspaceRules(SpecModel):
    """Which files affect everything, and which affect nothing, when computing affected projects."""

    global_files: list[str] = Field(default_factory=list)
    ignore: list[str] = Field(default_factory=lambda: ["docs/**", "**/*.md", "LICENSE"])


class Secrets(SpecModel):
    """Where credentials come from. With a store named, secrets are rendered as ExternalSecrets."""

    store: DnsSubdomain | None = None


class Oidc(SpecModel):
    """The identity provider people sign in to Kargo with (OpenID Connect; Kargo uses PKCE, so no secret)."""

    issuer_url: str
    client_id: str = Field(min_length=1)
    cli_client_id: str | None = None
    """A second client for Kargo's CLI, when the provider needs one for ``http://localhost`` redirects."""
    admins: list[Email] = Field(default_factory=list)
    """E-mail addresses made Kargo admins (the ``email`` claim)."""

    @field_validator("client_id", "cli_client_id")
    @classmethod
    def _client_id(cls, client_id: str | None) -> str | None:
        problem = None if client_id is None else word_problem(client_id)
        if problem:
            raise ValueError(problem)
        return client_id

    @field_validator("issuer_url")
    @classmethod
    def _https(cls, url: str) -> str:
        _location(url, "oidc")
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError(f"'{url}' is not an https URL such as https://login.acme.example.com")
        return url


class Auth(SpecModel):
    """Who can sign in to Kargo to approve promotions: its admin account, people of an OIDC provider, or both.

    Without ``oidc`` the admin account is on, so someone can always sign in; its password hash and token
    signing key come from a Secret, never from here."""

    admin: bool | None = None
    oidc: Oidc | None = None

    @model_validator(mode="after")
    def _someone_signs_in(self) -> Auth:
        if self.admin is False and self.oidc is None:
            raise ValueError(
                "with the admin account off and no oidc, nobody could sign in to Kargo to approve a promotion; "
                "set auth.oidc (issuerUrl, clientId) or auth.admin: true"
            )
        return self

    @property
    def admin_enabled(self) -> bool:
        """Whether Kargo's admin account is on: as set, else only when there is no OIDC provider."""
        return self.admin if self.admin is not None else self.oidc is None


DEFAULT_REPLICAS = {"dev": 1, "staging": 1, "uat": 1, "preprod": 2, "production": 3, "sandbox": 1}


def default_environments(org: str) -> list[dict[str, Any]]:
    """The default environments: dev and staging take alpha freight automatically, uat and preprod beta freight
    by hand, production the stable; each with its cluster, namespace, access, database and deployment strategy
    (recreate, rolling, a canary in preprod, blue-green in production), and the sandbox mirroring production."""

    def db(env: str) -> dict[str, str]:
        return {"url": f"postgresql://{env}-db.{env}.svc.cluster.local:5432/{org}", "secretRef": f"{env}-db"}

    return [
        {
            "name": "dev",
            "cluster": "staging",
            "namespace": "dev",
            "access": "internal",
            "database": db("dev"),
            "strategy": "recreate",
            "promotion": "auto",
            "maturities": ["alpha"],
            "host": "{service}.dev.{domain}",
            "upstream": None,
        },
        {
            "name": "staging",
            "cluster": "staging",
            "namespace": "staging",
            "access": "internal",
            "database": db("staging"),
            "strategy": "rolling",
            "promotion": "auto",
            "maturities": ["alpha"],
            "host": "{service}.staging.{domain}",
            "upstream": "dev",
        },
        {
            "name": "uat",
            "cluster": "staging",
            "namespace": "uat",
            "access": "internal",
            "database": db("uat"),
            "strategy": "rolling",
            "promotion": "manual",
            "maturities": ["beta"],
            "host": "{service}.uat.{domain}",
            "upstream": None,
        },
        {
            "name": "preprod",
            "cluster": "production",
            "namespace": "pre-prod",
            "access": "internal",
            "database": {
                "url": f"postgresql://preprod-db.pre-prod.svc.cluster.local:5432/{org}",
                "secretRef": "preprod-db",
            },
            "strategy": {"canary": {"steps": [10, 25, 50, 100]}},
            "promotion": "manual",
            "maturities": ["beta"],
            "host": "{service}.preprod.{domain}",
            "upstream": "uat",
        },
        {
            "name": "production",
            "cluster": "production",
            "namespace": "production",
            "access": "public",
            "database": {
                "url": f"postgresql://production-db.production.svc.cluster.local:5432/{org}",
                "secretRef": "production-db",
            },
            "strategy": {"blueGreen": {}},
            "promotion": "manual",
            "maturities": ["stable"],
            "host": "{service}.{domain}",
            "upstream": "preprod",
        },
        {
            "name": "sandbox",
            "cluster": "production",
            "namespace": "sandbox",
            "access": "public",
            "database": {
                "url": f"postgresql://sandbox-db.sandbox.svc.cluster.local:5432/{org}",
                "secretRef": "sandbox-db",
            },
            "strategy": "rolling",
            "promotion": "mirror",
            "maturities": ["stable"],
            "host": "{service}.sandbox.{domain}",
            "upstream": "production",
        },
    ]


def _name_of(entry: dict[str, Any]) -> str | None:
    # Only text names merge; anything else (a list, a mapping) is left for validation to report.
    name = entry.get("name")
    return name if isinstance(name, str) else None


def merge_environments(data: dict[str, Any]) -> list[Any] | None:
    """Merge a user's ``environments:`` entries into the seed's by name; new names go at the end.

    Returns None when the entries are not a list (validation then reports that).
    """
    org = data.get("org") if isinstance(data.get("org"), str) else "app"
    defaults = default_environments(str(org))
    given = data.get("environments")
    if given is None:
        return defaults
    if not isinstance(given, list):
        return None
    by_name = {env["name"]: dict(env) for env in defaults}
    extra: list[Any] = []
    for entry in given:
        if isinstance(entry, dict) and _name_of(entry) in by_name:
            base = by_name[entry["name"]]
            if "strategy" in entry:
                base.pop("strategy")  # a strategy replaces the default one whole, never mixes with it
            by_name[entry["name"]] = {**base, **entry}
        else:
            extra.append(entry)
    return [by_name[env["name"]] for env in defaults] + extra


def _default_sandbox_database(data: dict[str, Any]) -> dict[str, Any]:
    # The sandbox database's URL defaults to the sandbox environment's, so the two never disagree.
    sandbox = data.get("sandbox")
    database = sandbox.get("database") if isinstance(sandbox, dict) else None
    if sandbox is not None and not isinstance(sandbox, dict):
        return data
    if isinstance(database, dict) and "url" in database:
        return data
    if database is not None and not isinstance(database, dict):
        return data
    envs = data.get("environments")
    env = (
        next((e for e in envs if isinstance(e, dict) and e.get("name") == "sandbox"), None)
        if isinstance(envs, list)
        else None
    )
    env_db = env.get("database") if isinstance(env, dict) else None
    if not isinstance(env_db, dict) or not isinstance(env_db.get("url"), str):
        return data
    return {**data, "sandbox": {**(sandbox or {}), "database": {**(database or {}), "url": env_db["url"]}}}


Loc = tuple[str | int, ...]


class ReferenceProblems(ValueError):
    """Fields that name something undefined; each with the path of the field, so the loader can place it."""

    def __init__(self, problems: list[tuple[Loc, str]]) -> None:
        super().__init__("; ".join(message for _, message in problems))
        self.problems = problems


def reference_problems(platform: Platform) -> list[tuple[Loc, str]]:
    """Cross-field checks: clusters, upstreams and replica keys must name things that exist."""
    problems: list[tuple[Loc, str]] = []
    names = [e.name for e in platform.environments]
    clusters = sorted(c.name for c in platform.clusters)
    for index, env in enumerate(platform.environments):
        if names.count(env.name) > 1 and names.index(env.name) != index:
            problems.append((("environments", index, "name"), f"environment '{env.name}' is defined twice"))
        if env.cluster not in clusters:
            problems.append(
                (
                    ("environments", index, "cluster"),
                    f"cluster '{env.cluster}' is not defined; valid: {', '.join(clusters)}",
                )
            )
        if env.upstream is not None and env.upstream not in names:
            problems.append(
                (
                    ("environments", index, "upstream"),
                    f"upstream '{env.upstream}' is not an environment; valid: {', '.join(names)}",
                )
            )
    for service, override in platform.services.items():
        for env_name in sorted(set(override.replicas) - set(names)):
            problems.append(
                (
                    ("services", service, "replicas", env_name),
                    f"unknown environment '{env_name}'; valid: {', '.join(names)}",
                )
            )
    if platform.preview.cluster not in clusters:
        problems.append(
            (
                ("preview", "cluster"),
                f"cluster '{platform.preview.cluster}' is not defined; valid: {', '.join(clusters)}",
            )
        )
    if platform.sandbox.cluster not in clusters:
        problems.append(
            (
                ("sandbox", "cluster"),
                f"cluster '{platform.sandbox.cluster}' is not defined; valid: {', '.join(clusters)}",
            )
        )
    if platform.secrets.store is None:
        for index, cluster in enumerate(platform.clusters):
            if cluster.remote:
                problems.append(
                    (
                        ("clusters", index, "server"),
                        f"cluster '{cluster.name}' is not Argo CD's own ({IN_CLUSTER}), so Argo CD needs "
                        f"credentials for it, and they come only from the secret store: set secrets.store "
                        f"(the key is {platform.org}/{cluster.credentials_key}, property config)",
                    )
                )
    return problems + sandbox_database_problems(platform)


def sandbox_database_problems(platform: Platform) -> list[tuple[Loc, str]]:
    """The sandbox's databases must not be production's, nor the environment's the sandbox mirrors.

    Compared by spelling, as libpq reads the URLs (``shipyard.dburl``): a spec can be checked where no
    server is reachable. The sandbox commands that write a database also ask the servers themselves.
    """
    from shipyard.dburl import ConninfoError, may_be_same

    mirrors = [env for env in platform.environments if env.promotion is PromotionMode.mirror]
    sources = {"production", *(env.upstream or "production" for env in mirrors)}
    production: list[tuple[Loc, str, str]] = []
    sandbox: list[tuple[Loc, str, str]] = [
        (("sandbox", "database", "url"), "sandbox.database.url", platform.sandbox.database.url)
    ]
    for index, env in enumerate(platform.environments):
        if env.database is None:
            continue
        entry = (("environments", index, "database", "url"), f"environments[{env.name}].database.url", env.database.url)
        if env in mirrors:
            sandbox.append(entry)
        elif env.name in sources:  # a mirror of itself is a stage-graph problem, reported by stage_feeds
            production.append(entry)
    if any(url == platform.sandbox.database.url for _, _, url in sandbox[1:]):
        del sandbox[0]  # the sandbox's database URL defaults to the sandbox environment's: one report is enough
    problems: list[tuple[Loc, str]] = []
    for loc, field, url in sandbox:
        for _, other_field, other in production:
            try:
                reason = may_be_same(url, other)
            except ConninfoError as exc:
                problems.append((loc, f"cannot tell whether {field} is {other_field}: {exc.message}"))
                break
            if reason is not None:
                problems.append((loc, f"the sandbox's database may be the one of {other_field} ({other}): {reason}"))
                break
    return problems


@dataclass(frozen=True)
class Feed:
    """Where a stage's freight comes from."""

    upstream: str | None
    """The stage whose freight it takes; None: straight from the Warehouse."""
    origin: Maturity
    """The Warehouse (named by maturity) the freight entered from."""
    entry: str
    """The stage where that freight entered: the first of the chain of upstreams."""
    depth: int
    """How many stages the freight passes before this one."""


def stage_feeds(environments: Sequence[Environment]) -> tuple[dict[str, Feed], list[tuple[Loc, str]]]:
    """The stage graph's rules: the feed of every promoted environment (every one not mirrored), and the
    fields that break a rule. An upstream chain must not go round; a stage takes freight only from a stage,
    not from a mirror; it accepts at least one maturity, and the maturity of its upstream's freight (or
    stable, when a release's stable tag lets it take that freight). The stage graph is made from the feeds.

    Unknown and duplicate names are left to ``reference_problems``. A problem that concerns several fields
    (a cycle, a mismatch) is given once per field; the loader shows it at the ones the user wrote.
    """
    index: dict[str, int] = {}
    for position, env in enumerate(environments):
        index.setdefault(env.name, position)
    by_name = {name: environments[position] for name, position in index.items()}
    promoted = {name: None for name, env in by_name.items() if env.promotion is not PromotionMode.mirror}
    problems: list[tuple[Loc, str]] = []

    def at(name: str, field: str) -> Loc:
        return ("environments", index[name], field)

    broken: set[str] = set()
    settled: set[str] = set()  # walked already: each environment is walked once, so a long chain stays cheap
    for name in index:  # cycles, over mirrors too: a copy of a copy must end somewhere as well
        path: dict[str, None] = {}
        current: str | None = name
        while current in by_name and current not in path and current not in settled:
            path[current] = None
            current = by_name[current].upstream
        settled.update(path)
        if current in path:
            walked = list(path)
            cycle = walked[walked.index(current) :]
            first = cycle.index(min(cycle, key=index.__getitem__))
            cycle = cycle[first:] + cycle[:first]
            message = (
                f"environment '{cycle[0]}' is its own upstream; name another environment, or none"
                if len(cycle) == 1
                else f"upstreams go round in a cycle: {' -> '.join([*cycle, cycle[0]])}; remove one of them"
            )
            problems += [(at(member, "upstream"), message) for member in cycle]
            broken.update(cycle)

    feeds: dict[str, Feed] = {}
    for name in promoted:
        chain: list[str] = []  # this stage and the upstreams above it not placed yet, walked without recursion
        current = name
        while current not in feeds and current not in broken:
            chain.append(current)
            above = by_name[current].upstream
            if above not in by_name or above not in promoted:
                break
            current = above
        for link in reversed(chain):
            env = by_name[link]
            above = env.upstream
            if not env.maturities:
                problems.append(
                    (at(link, "maturities"), f"environment '{link}' accepts no maturity; valid: alpha, beta, stable")
                )
            elif above is None or above not in by_name:
                feeds[link] = Feed(upstream=None, origin=env.maturities[0], entry=link, depth=0)
            elif above not in promoted:
                valid = ", ".join(n for n in promoted if n != link)
                message = f"upstream '{above}' is mirrored (promotion: mirror), so it has no freight to pass on"
                problems.append((at(link, "upstream"), f"{message}; valid: {valid}"))
            elif above in feeds:
                feed = feeds[above]
                if feed.origin in env.maturities or Maturity.stable in env.maturities:
                    feeds[link] = Feed(upstream=above, origin=feed.origin, entry=feed.entry, depth=feed.depth + 1)
                    continue
                accepts = ", ".join(env.maturities)
                message = (
                    f"environment '{link}' accepts {accepts} but its upstream '{above}' holds {feed.origin} freight "
                    f"(it enters at '{feed.entry}'); accept {feed.origin} or stable, or drop the upstream"
                )
                problems += [(at(link, "maturities"), message), (at(link, "upstream"), message)]
                problems.append((at(feed.entry, "maturities"), message))
            if link not in feeds:
                broken.add(link)
    return feeds, problems


class Platform(SpecModel):
    """The whole platform: the parsed, validated ``shipyard.yaml``."""

    api_version: Literal["shipyard.dev/v1alpha1"] = API_VERSION
    kind: Literal["Platform"] = KIND
    org: DnsLabel
    domain: str
    repos: Repos = Field(default_factory=Repos)
    registry: Registry
    npm: Npm = Field(default_factory=Npm)
    clusters: list[Cluster] = Field(default_factory=lambda: [Cluster(name="staging"), Cluster(name="production")])
    environments: list[Environment] = Field(default_factory=list)
    preview: Preview = Field(default_factory=Preview)
    sandbox: Sandbox = Field(default_factory=Sandbox)
    versioning: Versioning = Field(default_factory=Versioning)
    services: dict[DnsLabel, ServiceOverride] = Field(default_factory=dict)
    workspace: WorkspaceRules = Field(default_factory=WorkspaceRules)
    secrets: Secrets = Field(default_factory=Secrets)
    auth: Auth = Field(default_factory=Auth)
    people: dict[PersonId, Person] = Field(default_factory=dict)
    groups: dict[GroupName, list[PersonId]] = Field(default_factory=dict)
    identity: IdentitySettings = Field(default_factory=IdentitySettings)

    @field_validator("domain")
    @classmethod
    def _domain(cls, domain: str) -> str:
        if not _DOMAIN.fullmatch(domain) or dns_subdomain_problem(domain):
            raise ValueError(
                f"{domain!r} is not a DNS domain such as acme.example.com (lower case, dots, labels of at most "
                "63 characters, 253 in all)"
            )
        return domain

    @model_validator(mode="before")
    @classmethod
    def _merge_environment_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        merged = merge_environments(data)
        data = data if merged is None else {**data, "environments": merged}
        return _default_sandbox_database(data)

    @model_validator(mode="after")
    def _cross_references(self) -> Platform:
        problems = reference_problems(self) + stage_feeds(self.environments)[1] + approval_problems(self)
        if problems:
            raise ReferenceProblems(problems)
        return self

    # Derived values: defaults that depend on org and domain.

    def preview_host(self, number: int, service: str) -> str:
        """The preview host of a service (``preview.host``); a ShipyardError when it is not a DNS name."""
        host = parse_template(self.preview.host, PREVIEW_HOST_FIELDS).render(
            number=str(number), service=service, domain=self.domain, org=self.org
        )
        problem = dns_subdomain_problem(host)
        if problem:
            raise ShipyardError(f"preview.host '{self.preview.host}' makes {problem}", hint="shorten it")
        return host

    def host_problems(self, services: Sequence[str]) -> list[tuple[Loc, str]]:
        """The host patterns that make no DNS name for one of ``services`` (a label over 63 characters, a
        name over 253): ``render`` and ``preview up`` would refuse them, so ``check`` does."""
        problems: list[tuple[Loc, str]] = []
        for index, env in enumerate(self.environments):
            for service in services:
                try:
                    env.host_for(service, self.domain, self.org)
                except ShipyardError as exc:
                    problems.append((("environments", index, "host"), f"for service '{service}': {exc.message}"))
                    break
        for service in services:
            try:
                self.preview_host(MAX_PR_NUMBER, service)
            except ShipyardError as exc:
                problems.append((("preview", "host"), f"for service '{service}' and PR {MAX_PR_NUMBER}: {exc.message}"))
                break
        return problems

    @property
    def npm_scope(self) -> str:
        """The npm scope of the workspace packages, ``@<org>`` unless set."""
        return self.npm.scope or f"@{self.org}"

    @property
    def npm_registry(self) -> str:
        """The private npm registry URL, Verdaccio under the platform's domain unless set."""
        return self.npm.registry or f"https://verdaccio.{self.domain}"

    @property
    def shipyard_image(self) -> str:
        """Shipyard's own image, pinned to this version: every rendered step and CronJob runs it."""
        from shipyard import __version__

        return f"{self.registry.host}/{self.registry.projects.base_images}/shipyard:{__version__}"

    def environment(self, name: str) -> Environment:
        """The environment called ``name``; KeyError names the valid ones."""
        for env in self.environments:
            if env.name == name:
                return env
        raise KeyError(f"no environment '{name}'; valid: {', '.join(e.name for e in self.environments)}")

    @property
    def sandbox_environment(self) -> Environment | None:
        """The environment that mirrors another one: ``sandbox`` when several do, None when none does."""
        mirrors = [env for env in self.environments if env.promotion is PromotionMode.mirror]
        return next((e for e in mirrors if e.name == "sandbox"), mirrors[0] if mirrors else None)

    @property
    def sandbox_cluster(self) -> str:
        """Where the sandbox's namespace and database are (its environment's cluster): its CronJobs run there."""
        env = self.sandbox_environment
        return env.cluster if env is not None else self.sandbox.cluster

    def cluster(self, name: str) -> Cluster:
        """The cluster called ``name`` (names are checked on load)."""
        return next(c for c in self.clusters if c.name == name)

    def service(self, name: str) -> ServiceOverride:
        """The settings of a service, its overrides applied."""
        return self.services.get(name) or ServiceOverride()

    def replicas(self, service: str, env: str) -> int:
        """How many replicas a service runs in an environment."""
        return self.service(service).replicas.get(env, DEFAULT_REPLICAS.get(env, 1))
