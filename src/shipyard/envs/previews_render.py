"""The files of one preview directory, ``previews/pr-<n>/``, as typed objects written deterministically.

Argo CD's ApplicationSet builds the directory's ``kustomization.yaml``: the services' bases with the
pull request's image tag, the Namespace carrying Shipyard's marks, one Ingress, and an ephemeral
PostgreSQL that lives and dies with the namespace.

Database credentials never enter git. A Job in the namespace (sync wave -1, before the database) runs
``shipyard preview db-secret`` in Shipyard's own pinned image: it creates the Secret ``preview-db`` with a
random password when it is absent, using a Role that allows only reading and creating Secrets in that
namespace; PostgreSQL and the services read the password from that Secret. Deleting the namespace deletes
the Secret, the data (an ``emptyDir``) and everything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from shipyard.envs.previews_marks import (
    ANNOTATION_CREATED,
    ANNOTATION_MANAGED_BY,
    ANNOTATION_PR,
    ANNOTATION_TTL,
    LABEL_PREVIEW,
    MANAGER,
    NamePattern,
    format_rfc3339,
)
from shipyard.k8s.base import K8sModel, ObjectMeta
from shipyard.k8s.yaml import dump, dump_all
from shipyard.spec.model import Platform

DB_NAME = "preview-db"
DB_SECRET = "preview-db"
DB_PORT = 5432
DB_DATABASE = "app"
DB_USER = "preview"
POSTGRES_IMAGE = "docker.io/library/postgres:16.6-alpine"
_SYNC_WAVE = "argocd.argoproj.io/sync-wave"


@dataclass(frozen=True)
class PreviewRequest:
    """What ``preview up`` was asked for: a pull request, the commit built, and the services to run."""

    number: int
    sha: str
    services: tuple[str, ...]

    @property
    def tag(self) -> str:
        """The image tag CI pushed for this build: ``pr-<n>-<sha7>``."""
        return f"pr-{self.number}-{self.sha[:7].lower()}"


class _Object(K8sModel):
    api_version: str
    kind: str
    metadata: ObjectMeta


class Namespace(_Object):
    """v1 Namespace."""

    api_version: Literal["v1"] = "v1"
    kind: Literal["Namespace"] = "Namespace"


class Backend(K8sModel):
    """networking.k8s.io/v1 IngressBackend with a service (port by number)."""

    service: dict[str, Any]


class HttpPath(K8sModel):
    """One path of an Ingress rule."""

    path: str = "/"
    path_type: Literal["Prefix"] = "Prefix"
    backend: Backend


class IngressRule(K8sModel):
    """One host of an Ingress."""

    host: str
    http: dict[Literal["paths"], list[HttpPath]]


class IngressSpec(K8sModel):
    """networking.k8s.io/v1 IngressSpec."""

    ingress_class_name: str
    rules: list[IngressRule]


class Ingress(_Object):
    """networking.k8s.io/v1 Ingress."""

    api_version: Literal["networking.k8s.io/v1"] = "networking.k8s.io/v1"
    kind: Literal["Ingress"] = "Ingress"
    spec: IngressSpec


class ServiceAccount(_Object):
    """v1 ServiceAccount."""

    api_version: Literal["v1"] = "v1"
    kind: Literal["ServiceAccount"] = "ServiceAccount"


class PolicyRule(K8sModel):
    """rbac.authorization.k8s.io/v1 PolicyRule."""

    api_groups: list[str]
    resources: list[str]
    verbs: list[str]


class Role(_Object):
    """rbac.authorization.k8s.io/v1 Role."""

    api_version: Literal["rbac.authorization.k8s.io/v1"] = "rbac.authorization.k8s.io/v1"
    kind: Literal["Role"] = "Role"
    rules: list[PolicyRule]


class Subject(K8sModel):
    """A RoleBinding subject."""

    kind: Literal["ServiceAccount"] = "ServiceAccount"
    name: str


class RoleRef(K8sModel):
    """A RoleBinding's role."""

    api_group: Literal["rbac.authorization.k8s.io"] = "rbac.authorization.k8s.io"
    kind: Literal["Role"] = "Role"
    name: str


class RoleBinding(_Object):
    """rbac.authorization.k8s.io/v1 RoleBinding."""

    api_version: Literal["rbac.authorization.k8s.io/v1"] = "rbac.authorization.k8s.io/v1"
    kind: Literal["RoleBinding"] = "RoleBinding"
    subjects: list[Subject]
    role_ref: RoleRef


class EnvVar(K8sModel):
    """A container environment variable, literal or from a Secret key."""

    name: str
    value: str | None = None
    value_from: dict[str, dict[str, str]] | None = None


class Container(K8sModel):
    """The parts of a v1 Container the preview objects set."""

    name: str
    image: str | None = None
    command: list[str] | None = None
    env: list[EnvVar] | None = None
    ports: list[dict[str, Any]] | None = None
    readiness_probe: dict[str, Any] | None = None
    volume_mounts: list[dict[str, str]] | None = None


class PodSpec(K8sModel):
    """The parts of a v1 PodSpec the preview objects set."""

    service_account_name: str | None = None
    restart_policy: Literal["OnFailure", "Always"] | None = None
    containers: list[Container]
    volumes: list[dict[str, Any]] | None = None


class PodTemplate(K8sModel):
    """A pod template."""

    metadata: dict[str, dict[str, str]] | None = None
    spec: PodSpec


class JobSpec(K8sModel):
    """batch/v1 JobSpec."""

    backoff_limit: int = 6
    template: PodTemplate


class Job(_Object):
    """batch/v1 Job."""

    api_version: Literal["batch/v1"] = "batch/v1"
    kind: Literal["Job"] = "Job"
    spec: JobSpec


class StatefulSetSpec(K8sModel):
    """apps/v1 StatefulSetSpec."""

    service_name: str
    replicas: int = 1
    selector: dict[str, dict[str, str]]
    template: PodTemplate


class StatefulSet(_Object):
    """apps/v1 StatefulSet."""

    api_version: Literal["apps/v1"] = "apps/v1"
    kind: Literal["StatefulSet"] = "StatefulSet"
    spec: StatefulSetSpec


class ServicePort(K8sModel):
    """A v1 ServicePort."""

    name: str
    port: int
    target_port: int


class ServiceSpec(K8sModel):
    """v1 ServiceSpec."""

    selector: dict[str, str]
    ports: list[ServicePort]


class Service(_Object):
    """v1 Service."""

    api_version: Literal["v1"] = "v1"
    kind: Literal["Service"] = "Service"
    spec: ServiceSpec


class ImageOverride(K8sModel):
    """A kustomize ``images:`` entry."""

    name: str
    new_tag: str


class Patch(K8sModel):
    """A kustomize ``patches:`` entry (inline strategic merge patch)."""

    patch: str


class Kustomization(K8sModel):
    """kustomize.config.k8s.io/v1beta1 Kustomization: what Argo CD builds for the preview."""

    api_version: Literal["kustomize.config.k8s.io/v1beta1"] = "kustomize.config.k8s.io/v1beta1"
    kind: Literal["Kustomization"] = "Kustomization"
    namespace: str
    resources: list[str]
    images: list[ImageOverride] = Field(default_factory=list)
    patches: list[Patch] = Field(default_factory=list)


def preview_hosts(platform: Platform, request: PreviewRequest) -> dict[str, str]:
    """Each service's ingress host, from ``preview.host`` (``pr-{number}-{service}.preview.{domain}``)."""
    return {
        service: platform.preview.host.format(
            number=request.number, service=service, domain=platform.domain, org=platform.org
        )
        for service in sorted(set(request.services))
    }


def preview_urls(platform: Platform, request: PreviewRequest) -> dict[str, str]:
    """Each service's preview URL."""
    return {service: f"https://{host}" for service, host in preview_hosts(platform, request).items()}


def namespace_object(platform: Platform, request: PreviewRequest, created_at: datetime) -> Namespace:
    """The Namespace with all of Shipyard's marks: what the clean-up recognises, and nothing else."""
    name = NamePattern(platform.preview.namespace).name(request.number)
    return Namespace(
        metadata=ObjectMeta(
            name=name,
            labels={LABEL_PREVIEW: "true", "app.kubernetes.io/managed-by": MANAGER},
            annotations={
                ANNOTATION_MANAGED_BY: MANAGER,
                ANNOTATION_PR: str(request.number),
                ANNOTATION_CREATED: format_rfc3339(created_at),
                ANNOTATION_TTL: platform.preview.ttl,
            },
        )
    )


def _ingress(platform: Platform, request: PreviewRequest) -> Ingress:
    port = {"number": 80}
    rules = [
        IngressRule(host=host, http={"paths": [HttpPath(backend=Backend(service={"name": service, "port": port}))]})
        for service, host in preview_hosts(platform, request).items()
    ]
    # The ingress class follows the preview's access (public or internal), as the environments' overlays do.
    return Ingress(
        metadata=ObjectMeta(name="preview"),
        spec=IngressSpec(ingress_class_name=platform.preview.access.value, rules=rules),
    )


def _secret_env(name: str, key: str) -> EnvVar:
    return EnvVar(name=name, value_from={"secretKeyRef": {"name": DB_SECRET, "key": key}})


def _database_objects(platform: Platform, namespace: str) -> list[_Object]:
    labels = {"app.kubernetes.io/name": DB_NAME}
    wave = {_SYNC_WAVE: "-1"}
    credentials = "preview-db-credentials"
    job = Job(
        metadata=ObjectMeta(name=credentials, annotations=wave),
        spec=JobSpec(
            template=PodTemplate(
                spec=PodSpec(
                    service_account_name=credentials,
                    restart_policy="OnFailure",
                    containers=[
                        Container(
                            name="create-secret",
                            image=platform.shipyard_image,
                            command=[
                                "shipyard",
                                "preview",
                                "db-secret",
                                f"--namespace={namespace}",
                                f"--name={DB_SECRET}",
                                f"--username={DB_USER}",
                                f"--database={DB_DATABASE}",
                            ],
                        )
                    ],
                )
            )
        ),
    )
    postgres = Container(
        name="postgres",
        image=POSTGRES_IMAGE,
        env=[
            _secret_env("POSTGRES_USER", "username"),
            _secret_env("POSTGRES_PASSWORD", "password"),
            _secret_env("POSTGRES_DB", "database"),
            EnvVar(name="PGDATA", value="/var/lib/postgresql/data/pgdata"),
        ],
        ports=[{"name": "postgres", "containerPort": DB_PORT}],
        readiness_probe={"exec": {"command": ["pg_isready", "-U", DB_USER, "-d", DB_DATABASE]}, "periodSeconds": 5},
        volume_mounts=[{"name": "data", "mountPath": "/var/lib/postgresql/data"}],
    )
    return [
        ServiceAccount(metadata=ObjectMeta(name=credentials, annotations=wave)),
        Role(
            metadata=ObjectMeta(name=credentials, annotations=wave),
            rules=[PolicyRule(api_groups=[""], resources=["secrets"], verbs=["get", "create"])],
        ),
        RoleBinding(
            metadata=ObjectMeta(name=credentials, annotations=wave),
            subjects=[Subject(name=credentials)],
            role_ref=RoleRef(name=credentials),
        ),
        job,
        Service(
            metadata=ObjectMeta(name=DB_NAME, labels=labels),
            spec=ServiceSpec(selector=labels, ports=[ServicePort(name="postgres", port=DB_PORT, target_port=DB_PORT)]),
        ),
        StatefulSet(
            metadata=ObjectMeta(name=DB_NAME, labels=labels),
            spec=StatefulSetSpec(
                service_name=DB_NAME,
                selector={"matchLabels": labels},
                template=PodTemplate(
                    metadata={"labels": labels},
                    spec=PodSpec(containers=[postgres], volumes=[{"name": "data", "emptyDir": {}}]),
                ),
            ),
        ),
    ]


def _database_patch(service: str, namespace: str) -> Patch:
    """Point a service at the preview's database: the URL in the clear, the password from the Secret."""
    url = f"postgresql://{DB_NAME}.{namespace}.svc.cluster.local:{DB_PORT}/{DB_DATABASE}"
    env = [
        EnvVar(name="DATABASE_URL", value=url),
        _secret_env("DATABASE_USER", "username"),
        _secret_env("DATABASE_PASSWORD", "password"),
    ]
    patch = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": service},
        "spec": {"template": {"spec": {"containers": [{"name": service, "env": [e.to_dict() for e in env]}]}}},
    }
    return Patch(patch=dump(patch))


def render_preview(platform: Platform, request: PreviewRequest, created_at: datetime) -> dict[str, str]:
    """The preview directory's files (name -> text). Same inputs, same bytes."""
    namespace = namespace_object(platform, request, created_at)
    name = namespace.metadata.name
    services = sorted(set(request.services))
    kustomization = Kustomization(
        namespace=name,
        resources=["namespace.yaml", *(f"../../base/{s}" for s in services), "ingress.yaml", "database.yaml"],
        images=[ImageOverride(name=platform.registry.image(s), new_tag=request.tag) for s in services],
        patches=[_database_patch(s, name) for s in services],
    )
    return {
        "kustomization.yaml": dump(kustomization.to_dict()),
        "namespace.yaml": dump(namespace.to_dict()),
        "ingress.yaml": dump(_ingress(platform, request).to_dict()),
        "database.yaml": dump_all(obj.to_dict() for obj in _database_objects(platform, name)),
    }
