"""The files of one preview directory, ``previews/pr-<n>/``, as typed objects written deterministically.

Argo CD's ApplicationSet builds the directory's ``kustomization.yaml``: the services' bases with the
pull request's image tag, the Namespace carrying Shipyard's marks, one Ingress, and an ephemeral
PostgreSQL that lives and dies with the namespace.

The Ingress is served as announced: its class is the ingress-nginx controller of the preview's access (the
environments' table, ``spec.model.INGRESS_CLASS``), and every host is under its TLS, so the ``https://`` URLs
posted to the pull request get the previews' wildcard certificate: the Secret ``preview-tls`` made from the
secret store, or without a store the controller's default certificate. Every image comes from the platform's
registry: the services' ``pr-<n>-<sha7>`` builds, Shipyard's own, and PostgreSQL from ``base-images``.

Database credentials never enter git. A Job in the namespace (sync wave -1, before the database) runs
``shipyard preview db-secret`` in Shipyard's own pinned image: it creates the Secret ``preview-db`` with a
random password when it is absent, using a Role that allows only reading and creating Secrets in that
namespace; PostgreSQL and the services read the password from that Secret. Deleting the namespace deletes
the Secret, the data (an ``emptyDir``) and everything else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shipyard.k8s.base import ObjectMeta
from shipyard.k8s.core import (
    Container,
    ContainerPort,
    EmptyDirVolumeSource,
    EnvVar,
    EnvVarSource,
    ExecAction,
    ExternalSecret,
    ExternalSecretData,
    ExternalSecretRemoteRef,
    ExternalSecretSpec,
    ExternalSecretTarget,
    ExternalSecretTemplate,
    Ingress,
    IngressRule,
    IngressSpec,
    IngressTLS,
    Job,
    JobSpec,
    LabelSelector,
    Namespace,
    PodSpec,
    PodTemplateSpec,
    PolicyRule,
    Probe,
    Role,
    RoleBinding,
    RoleRef,
    SecretKeySelector,
    SecretStoreRef,
    Service,
    ServiceAccount,
    ServicePort,
    ServiceSpec,
    StatefulSet,
    StatefulSetSpec,
    Subject,
    TemplateMeta,
    Volume,
    VolumeMount,
)
from shipyard.k8s.kustomize import Image, Kustomization, Patch
from shipyard.k8s.yaml import dump, dump_all
from shipyard.previews.marks import (
    ANNOTATION_CREATED,
    ANNOTATION_MANAGED_BY,
    ANNOTATION_PR,
    ANNOTATION_TTL,
    LABEL_PREVIEW,
    MANAGER,
    NamePattern,
)
from shipyard.spec.model import INGRESS_CLASS, Platform
from shipyard.times import format_rfc3339

DB_NAME = "preview-db"
DB_SECRET = "preview-db"
DB_PORT = 5432
DB_DATABASE = "app"
DB_USER = "preview"
SEED_JOB = "preview-db-seed"
# PostgreSQL, from the platform registry's base-images project (mirror it there, as Shipyard's own image is).
POSTGRES_IMAGE = "postgres:16.6-alpine"
# The previews' wildcard certificate (``*.preview.<domain>``), from the secret store into each preview namespace.
TLS_SECRET = "preview-tls"
_SYNC_WAVE = "argocd.argoproj.io/sync-wave"
# Preview directories already in the GitOps repository were written with these key orders, which differ
# from the shared models' field order; keeping them means re-rendering an open preview changes no byte.
_ROLE_BINDING_KEYS = ("apiVersion", "kind", "metadata", "subjects", "roleRef")
_CONTAINER_KEYS = ("name", "image", "command", "env", "ports", "readinessProbe", "volumeMounts")


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


def preview_hosts(platform: Platform, request: PreviewRequest) -> dict[str, str]:
    """Each service's ingress host, from ``preview.host`` (``pr-{number}-{service}.preview.{domain}``)."""
    return {service: platform.preview_host(request.number, service) for service in sorted(set(request.services))}


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


def postgres_image(platform: Platform) -> str:
    """The preview database's image, in the platform registry's base-images project."""
    return f"{platform.registry.host}/{platform.registry.projects.base_images}/{POSTGRES_IMAGE}"


def _ingress(platform: Platform, request: PreviewRequest) -> Ingress:
    hosts = preview_hosts(platform, request)
    rules = [IngressRule.to_service(host, service) for service, host in hosts.items()]
    # ingress-nginx serves an Ingress only when its class names the controller's IngressClass, and gives a host
    # its certificate (and the redirect to https) only when a TLS entry lists it.
    secret = TLS_SECRET if platform.secrets.store else None
    return Ingress(
        metadata=ObjectMeta(name="preview"),
        spec=IngressSpec(
            ingress_class_name=INGRESS_CLASS[platform.preview.access],
            tls=[IngressTLS(hosts=sorted(hosts.values()), secret_name=secret)],
            rules=rules,
        ),
    )


def _tls_secret(platform: Platform) -> ExternalSecret:
    """The previews' wildcard certificate as a TLS Secret, from the store's ``<org>/preview-tls``."""
    assert platform.secrets.store is not None, "rendered only with a secret store"
    return ExternalSecret(
        metadata=ObjectMeta(name=TLS_SECRET),
        spec=ExternalSecretSpec(
            secret_store_ref=SecretStoreRef(name=platform.secrets.store),
            target=ExternalSecretTarget(name=TLS_SECRET, template=ExternalSecretTemplate(type="kubernetes.io/tls")),
            data=[
                ExternalSecretData(
                    secret_key=key, remote_ref=ExternalSecretRemoteRef(key=f"{platform.org}/preview-tls", property=key)
                )
                for key in ("tls.crt", "tls.key")
            ],
        ),
    )


def _secret_env(name: str, key: str) -> EnvVar:
    return EnvVar(name=name, value_from=EnvVarSource(secret_key_ref=SecretKeySelector(name=DB_SECRET, key=key)))


def _in_order(data: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    """``data`` with its keys in the order of ``keys`` (all of ``data``'s keys are among them)."""
    return {key: data[key] for key in keys if key in data}


def _seed_job(platform: Platform, namespace: str, seed: int) -> Job:
    """Synthetic rows for the preview's database, the sandbox's generator at work (``sandbox db synth``).

    An Argo CD PostSync hook: it runs once the services are up, so their migrations have made the schema
    it fills, and again after each sync, so every new commit of the pull request starts from fresh data.
    The seed is the pull request's number: the same preview gets the same rows.
    """
    url = f"postgresql://{DB_NAME}.{namespace}.svc.cluster.local:{DB_PORT}/{DB_DATABASE}"
    hook = {"argocd.argoproj.io/hook": "PostSync", "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation"}
    rows = str(platform.sandbox.database.rows)
    return Job(
        metadata=ObjectMeta(name=SEED_JOB, annotations=hook),
        spec=JobSpec(
            backoff_limit=6,
            template=PodTemplateSpec(
                spec=PodSpec(
                    restart_policy="OnFailure",
                    containers=[
                        Container(
                            name="seed",
                            image=platform.shipyard_image,
                            command=[
                                "shipyard",
                                "sandbox",
                                "db",
                                "synth",
                                f"--to={url}",
                                f"--rows={rows}",
                                f"--seed={seed}",
                            ],
                            # libpq takes the user and password from these, so the URL stays free of secrets.
                            env=[_secret_env("PGUSER", "username"), _secret_env("PGPASSWORD", "password")],
                        )
                    ],
                )
            ),
        ),
    )


def _database_documents(platform: Platform, namespace: str, seed: int) -> list[dict[str, Any]]:
    labels = {"app.kubernetes.io/name": DB_NAME}
    wave = {_SYNC_WAVE: "-1"}
    credentials = "preview-db-credentials"
    job = Job(
        metadata=ObjectMeta(name=credentials, annotations=wave),
        spec=JobSpec(
            backoff_limit=6,
            template=PodTemplateSpec(
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
            ),
        ),
    )
    postgres = Container(
        name="postgres",
        image=postgres_image(platform),
        env=[
            _secret_env("POSTGRES_USER", "username"),
            _secret_env("POSTGRES_PASSWORD", "password"),
            _secret_env("POSTGRES_DB", "database"),
            EnvVar(name="PGDATA", value="/var/lib/postgresql/data/pgdata"),
        ],
        ports=[ContainerPort(name="postgres", container_port=DB_PORT)],
        readiness_probe=Probe(
            exec=ExecAction(command=["pg_isready", "-U", DB_USER, "-d", DB_DATABASE]), period_seconds=5
        ),
        volume_mounts=[VolumeMount(name="data", mount_path="/var/lib/postgresql/data")],
    )
    binding = RoleBinding(
        metadata=ObjectMeta(name=credentials, annotations=wave),
        subjects=[Subject(name=credentials)],
        role_ref=RoleRef(name=credentials),
    )
    database = StatefulSet(
        metadata=ObjectMeta(name=DB_NAME, labels=labels),
        spec=StatefulSetSpec(
            service_name=DB_NAME,
            replicas=1,
            selector=LabelSelector(match_labels=labels),
            template=PodTemplateSpec(
                metadata=TemplateMeta(labels=labels),
                spec=PodSpec(containers=[postgres], volumes=[Volume(name="data", empty_dir=EmptyDirVolumeSource())]),
            ),
        ),
    ).to_dict()
    pod = database["spec"]["template"]["spec"]
    pod["containers"] = [_in_order(container, _CONTAINER_KEYS) for container in pod["containers"]]
    return [
        ServiceAccount(metadata=ObjectMeta(name=credentials, annotations=wave)).to_dict(),
        Role(
            metadata=ObjectMeta(name=credentials, annotations=wave),
            rules=[PolicyRule(api_groups=[""], resources=["secrets"], verbs=["get", "create"])],
        ).to_dict(),
        _in_order(binding.to_dict(), _ROLE_BINDING_KEYS),
        job.to_dict(),
        Service(
            metadata=ObjectMeta(name=DB_NAME, labels=labels),
            spec=ServiceSpec(
                selector=labels,
                ports=[ServicePort(name="postgres", port=DB_PORT, target_port=DB_PORT, protocol=None)],
            ),
        ).to_dict(),
        database,
        _seed_job(platform, namespace, seed).to_dict(),
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
    tls = ["tls.yaml"] if platform.secrets.store else []
    kustomization = Kustomization(
        namespace=name,
        resources=["namespace.yaml", *(f"../../base/{s}" for s in services), "ingress.yaml", *tls, "database.yaml"],
        images=[Image(name=platform.registry.image(s), new_tag=request.tag) for s in services],
        patches=[_database_patch(s, name) for s in services],
    )
    files = {
        "kustomization.yaml": dump(kustomization.to_dict()),
        "namespace.yaml": dump(namespace.to_dict()),
        "ingress.yaml": dump(_ingress(platform, request).to_dict()),
        "database.yaml": dump_all(_database_documents(platform, name, request.number)),
    }
    if tls:
        files["tls.yaml"] = dump(_tls_secret(platform).to_dict())
    return files
