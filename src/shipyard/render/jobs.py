"""The platform's scheduled jobs: the daily sandbox sync and the preview clean-up every six hours.

Each runs a ``shipyard`` command in Shipyard's own pinned image (no shell scripts), with the spec
mounted from a ConfigMap and git credentials from a Secret referenced by name, never rendered.
"""

from __future__ import annotations

from shipyard.k8s.base import ObjectMeta
from shipyard.k8s.core import (
    ConfigMap,
    ConfigMapVolumeSource,
    Container,
    CronJob,
    CronJobSpec,
    EnvFromSource,
    EnvVar,
    ExternalSecret,
    ExternalSecretData,
    ExternalSecretRemoteRef,
    ExternalSecretSpec,
    ExternalSecretTarget,
    JobSpec,
    JobTemplateSpec,
    LocalObjectReference,
    Namespace,
    PodSpec,
    PodTemplateSpec,
    SecretStoreRef,
    ServiceAccount,
    TemplateMeta,
    Volume,
    VolumeMount,
)
from shipyard.k8s.yaml import dump
from shipyard.render.common import config_repo_url, part_of, yaml_of
from shipyard.spec.model import Platform
from shipyard.workspace.model import Workspace

JOBS_NAMESPACE = "shipyard-system"
SPEC_CONFIGMAP = "shipyard-spec"
GIT_SECRET = "shipyard-git"
SPEC_DIR = "/etc/shipyard"
# Kubernetes expands $(VAR) in args from the container's env, so the URL is written once, in the env.
CONFIG_REPO_ARGS = ["--config-repo", "$(SHIPYARD_CONFIG_REPO)"]


def render_jobs(platform: Platform, workspace: Workspace) -> dict[str, str]:
    """``jobs/``: the namespace, the spec ConfigMap, a ServiceAccount and the two CronJobs."""
    labels = part_of(platform)
    files = {
        "jobs/namespace.yaml": yaml_of(Namespace(metadata=ObjectMeta(name=JOBS_NAMESPACE, labels=labels))),
        "jobs/spec.yaml": yaml_of(
            ConfigMap(
                metadata=ObjectMeta(name=SPEC_CONFIGMAP, namespace=JOBS_NAMESPACE, labels=labels),
                data={"shipyard.yaml": dump(platform.model_dump(mode="json", by_alias=True))},
            )
        ),
        "jobs/serviceaccount.yaml": yaml_of(
            ServiceAccount(metadata=ObjectMeta(name="shipyard", namespace=JOBS_NAMESPACE, labels=labels))
        ),
        # The daily clone is a reset, not a sync: a sync keeps a TTL that has not run out, so a sandbox made
        # a few seconds after midnight would live two days.
        "jobs/sandbox-sync.yaml": yaml_of(
            _cronjob(platform, "sandbox-sync", platform.sandbox.schedule, ["sandbox", "reset", *CONFIG_REPO_ARGS])
        ),
        # The TTL check: a TTL shorter than the daily schedule still ends on time.
        "jobs/sandbox-ttl-check.yaml": yaml_of(
            _cronjob(
                platform, "sandbox-ttl-check", "0 * * * *", ["sandbox", "reset", "--if-expired", *CONFIG_REPO_ARGS]
            )
        ),
        "jobs/preview-cleanup.yaml": yaml_of(
            _cronjob(
                platform, "preview-cleanup", platform.preview.cleanup_schedule, ["preview", "gc", *CONFIG_REPO_ARGS]
            )
        ),
    }
    if platform.secrets.store:
        files["jobs/git-credentials.yaml"] = yaml_of(
            ExternalSecret(
                metadata=ObjectMeta(name=GIT_SECRET, namespace=JOBS_NAMESPACE, labels=labels),
                spec=ExternalSecretSpec(
                    secret_store_ref=SecretStoreRef(name=platform.secrets.store),
                    target=ExternalSecretTarget(name=GIT_SECRET),
                    data=[
                        ExternalSecretData(
                            secret_key=key,
                            remote_ref=ExternalSecretRemoteRef(key=f"{platform.org}/git", property=key.lower()),
                        )
                        for key in ("GIT_USERNAME", "GIT_PASSWORD")
                    ],
                ),
            )
        )
    return files


def _cronjob(platform: Platform, name: str, schedule: str, args: list[str]) -> CronJob:
    labels = {"app.kubernetes.io/name": name, **part_of(platform)}
    container = Container(
        name=name,
        image=platform.shipyard_image,
        args=args,
        working_dir=SPEC_DIR,
        env=[EnvVar(name="SHIPYARD_CONFIG_REPO", value=config_repo_url(platform))],
        env_from=[EnvFromSource(secret_ref=LocalObjectReference(name=GIT_SECRET))],
        volume_mounts=[VolumeMount(name="spec", mount_path=SPEC_DIR, read_only=True)],
    )
    return CronJob(
        metadata=ObjectMeta(name=name, namespace=JOBS_NAMESPACE, labels=labels),
        spec=CronJobSpec(
            schedule=schedule,
            time_zone="Etc/UTC",
            concurrency_policy="Forbid",
            successful_jobs_history_limit=3,
            failed_jobs_history_limit=3,
            job_template=JobTemplateSpec(
                spec=JobSpec(
                    backoff_limit=2,
                    active_deadline_seconds=3600,
                    template=PodTemplateSpec(
                        metadata=TemplateMeta(labels=labels),
                        spec=PodSpec(
                            service_account_name="shipyard",
                            restart_policy="Never",
                            containers=[container],
                            volumes=[Volume(name="spec", config_map=ConfigMapVolumeSource(name=SPEC_CONFIGMAP))],
                        ),
                    ),
                )
            ),
        ),
    )
