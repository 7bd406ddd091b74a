"""The platform's scheduled jobs: the daily sandbox reset and its database, the TTL check, and the
preview clean-up every six hours, each on the cluster it works on.

Each runs a ``shipyard`` command in Shipyard's own pinned image (no shell scripts), with the spec
mounted from a ConfigMap and credentials from Secrets referenced by name, never rendered.
"""

from __future__ import annotations

import re

from shipyard.errors import ShipyardError
from shipyard.k8s.base import ObjectMeta
from shipyard.k8s.core import (
    ConfigMap,
    ConfigMapVolumeSource,
    Container,
    CronJob,
    CronJobSpec,
    EnvFromSource,
    EnvVar,
    EnvVarSource,
    JobSpec,
    JobTemplateSpec,
    LocalObjectReference,
    Namespace,
    PodSpec,
    PodTemplateSpec,
    SecretKeySelector,
    SecretVolumeSource,
    ServiceAccount,
    TemplateMeta,
    Volume,
    VolumeMount,
)
from shipyard.k8s.yaml import dump
from shipyard.render.common import cluster_folder, config_repo_url, part_of, store_secret, yaml_of
from shipyard.spec.model import Platform
from shipyard.workspace.model import Workspace

JOBS_NAMESPACE = "shipyard-system"
SPEC_CONFIGMAP = "shipyard-spec"
GIT_SECRET = "shipyard-git"
SPEC_DIR = "/etc/shipyard"
# Kubernetes expands $(VAR) in args from the container's env, so the URL is written once, in the env.
CONFIG_REPO_ARGS = ["--config-repo", "$(SHIPYARD_CONFIG_REPO)"]
# The sandbox database job's Secret (created by the platform team, referenced by name): `pgpass`, a libpq
# password file with a line for production's server and one for the sandbox's, and `salt`, the masking salt.
SANDBOX_DB_SECRET = "shipyard-sandbox-db"
SANDBOX_DB_DIR = "/etc/shipyard-db"
RULES_KEY = "sandbox-rules.yaml"
# The GitHub token preview clean-up reads PR states with (key `token`), referenced by name.
GITHUB_SECRET = "shipyard-github"
_GITHUB_REPO = re.compile(
    r"(?:https://github\.com/|git@github\.com:|ssh://git@github\.com/)([\w.-]+/[\w.-]+?)(?:\.git)?/?", re.ASCII
)


def render_jobs(platform: Platform, workspace: Workspace) -> dict[str, str]:
    """``jobs/``: per cluster that runs CronJobs, the namespace, the spec ConfigMap, a ServiceAccount, the
    Secrets from the store and its CronJobs. Each CronJob runs on the cluster whose namespaces and databases
    it works on: the sandbox's on the sandbox's cluster, the preview clean-up on the previews' cluster
    (Argo CD's own cluster is ``jobs/``, another one ``jobs/<cluster>/``)."""
    rules = _masking_rules(platform, workspace)
    sandbox = _folder(platform, platform.sandbox_cluster)
    preview = _folder(platform, platform.preview.cluster)
    cronjobs: dict[str, list[CronJob]] = {sandbox: [], preview: []}
    # The daily clone is a reset, not a sync: a sync keeps a TTL that has not run out, so a sandbox made
    # a few seconds after midnight would live two days. The hourly TTL check ends a TTL shorter than the
    # schedule on time.
    cronjobs[sandbox] += [
        _cronjob(platform, "sandbox-sync", platform.sandbox.schedule, ["sandbox", "reset", *CONFIG_REPO_ARGS]),
        _cronjob(platform, "sandbox-ttl-check", "0 * * * *", ["sandbox", "reset", "--if-expired", *CONFIG_REPO_ARGS]),
    ]
    database_job = _sandbox_database_job(platform, bool(rules))
    if database_job is not None:
        cronjobs[sandbox].append(database_job)
    cronjobs[preview].append(_preview_cleanup(platform))
    files: dict[str, str] = {}
    for folder, jobs in cronjobs.items():
        files.update(_folder_files(platform, folder, jobs, rules if folder == sandbox else {}))
    return files


def _folder(platform: Platform, cluster: str) -> str:
    """``jobs/`` or ``jobs/<cluster>/``, with its trailing slash."""
    name = cluster_folder(platform, cluster)
    return f"jobs/{name}/" if name else "jobs/"


def _folder_files(platform: Platform, folder: str, jobs: list[CronJob], rules: dict[str, str]) -> dict[str, str]:
    """One cluster's jobs and what they read there: every Secret comes from the store (git for all, the GitHub
    token when previews ask GitHub, the database files when the sandbox database job runs)."""
    labels = part_of(platform)
    files = {
        f"{folder}namespace.yaml": yaml_of(Namespace(metadata=ObjectMeta(name=JOBS_NAMESPACE, labels=labels))),
        f"{folder}spec.yaml": yaml_of(
            ConfigMap(
                metadata=ObjectMeta(name=SPEC_CONFIGMAP, namespace=JOBS_NAMESPACE, labels=labels),
                data={"shipyard.yaml": dump(platform.model_dump(mode="json", by_alias=True)), **rules},
            )
        ),
        f"{folder}serviceaccount.yaml": yaml_of(
            ServiceAccount(metadata=ObjectMeta(name="shipyard", namespace=JOBS_NAMESPACE, labels=labels))
        ),
    }
    for job in jobs:
        files[f"{folder}{job.metadata.name}.yaml"] = yaml_of(job)
    if not platform.secrets.store:
        return files
    files[f"{folder}git-credentials.yaml"] = yaml_of(
        store_secret(
            platform,
            GIT_SECRET,
            "git",
            {"GIT_USERNAME": "git_username", "GIT_PASSWORD": "git_password"},
            namespace=JOBS_NAMESPACE,
        )
    )
    names = {job.metadata.name for job in jobs}
    if "preview-cleanup" in names and github_repo(platform) is not None:
        token = store_secret(platform, GITHUB_SECRET, "github", {"token": "token"}, namespace=JOBS_NAMESPACE)
        files[f"{folder}github-token.yaml"] = yaml_of(token)
    if names & {"sandbox-db-clone", "sandbox-db-synth"}:
        keys = {"pgpass": "pgpass"} | ({"salt": "salt"} if "sandbox-db-clone" in names else {})
        files[f"{folder}sandbox-db-credentials.yaml"] = yaml_of(
            store_secret(platform, SANDBOX_DB_SECRET, "sandbox-db", keys, namespace=JOBS_NAMESPACE)
        )
    return files


def github_repo(platform: Platform) -> str | None:
    """``owner/name`` of the application monorepo when ``repos.app`` is on GitHub, else None."""
    match = _GITHUB_REPO.fullmatch(platform.repos.app or "")
    return match.group(1) if match else None


def _preview_cleanup(platform: Platform) -> CronJob:
    """Preview clean-up; with the app repo on GitHub it also removes previews of closed pull requests."""
    args = ["preview", "gc", *CONFIG_REPO_ARGS]
    repo = github_repo(platform)
    if repo is None:
        return _cronjob(platform, "preview-cleanup", platform.preview.cleanup_schedule, args)
    token = EnvVar(
        name="GITHUB_TOKEN",
        value_from=EnvVarSource(secret_key_ref=SecretKeySelector(name=GITHUB_SECRET, key="token")),
    )
    args += ["--github", "--repo", repo]
    return _cronjob(platform, "preview-cleanup", platform.preview.cleanup_schedule, args, extra_env=[token])


def _masking_rules(platform: Platform, workspace: Workspace) -> dict[str, str]:
    """The anonymized clone's rules file, carried in the spec ConfigMap so the CronJob can read it."""
    database = platform.sandbox.database
    if database.strategy != "anonymize" or database.rules is None:
        return {}
    from shipyard.bounded import MIB, InputError, read_text

    path = workspace.root / database.rules
    try:
        return {RULES_KEY: read_text(path, MIB)}
    except InputError as exc:
        raise ShipyardError(
            f"sandbox.database.rules names {path}: {exc.message.removeprefix(f'{path}: ')}",
            hint="give the masking rules file's path relative to shipyard.yaml",
        ) from None


def _sandbox_database_job(platform: Platform, has_rules: bool) -> CronJob | None:
    """The sandbox database's daily job: a masked clone of production, or synthetic rows.

    An anonymized clone needs a rules file (there is no safe default for what to mask), so without one
    no clone job is rendered.
    """
    database = platform.sandbox.database
    if database.strategy == "synthetic":
        args = ["sandbox", "db", "synth", "--to", database.url, "--rows", str(database.rows)]
        return _cronjob(platform, "sandbox-db-synth", platform.sandbox.schedule, args, database_secret=True, salt=False)
    if not has_rules:
        return None
    mirrored = platform.environment("sandbox").upstream or "production"
    source = platform.environment(mirrored).database
    if source is None:
        return None
    args = ["sandbox", "db", "clone", "--from", source.url, "--to", database.url, "--rules", f"{SPEC_DIR}/{RULES_KEY}"]
    return _cronjob(platform, "sandbox-db-clone", platform.sandbox.schedule, args, database_secret=True, salt=True)


def _cronjob(
    platform: Platform,
    name: str,
    schedule: str,
    args: list[str],
    *,
    database_secret: bool = False,
    salt: bool = False,
    extra_env: list[EnvVar] | None = None,
) -> CronJob:
    labels = {"app.kubernetes.io/name": name, **part_of(platform)}
    env = [EnvVar(name="SHIPYARD_CONFIG_REPO", value=config_repo_url(platform)), *(extra_env or [])]
    mounts = [VolumeMount(name="spec", mount_path=SPEC_DIR, read_only=True)]
    volumes = [Volume(name="spec", config_map=ConfigMapVolumeSource(name=SPEC_CONFIGMAP))]
    if database_secret:
        # libpq reads passwords from PGPASSFILE and ignores a file others can read, hence mode 0400.
        env.append(EnvVar(name="PGPASSFILE", value=f"{SANDBOX_DB_DIR}/pgpass"))
        if salt:
            selector = SecretKeySelector(name=SANDBOX_DB_SECRET, key="salt")
            env.append(EnvVar(name="SHIPYARD_SANDBOX_SALT", value_from=EnvVarSource(secret_key_ref=selector)))
        mounts.append(VolumeMount(name="database", mount_path=SANDBOX_DB_DIR, read_only=True))
        volumes.append(
            Volume(name="database", secret=SecretVolumeSource(secret_name=SANDBOX_DB_SECRET, default_mode=0o400))
        )
    container = Container(
        name=name,
        image=platform.shipyard_image,
        args=args,
        working_dir=SPEC_DIR,
        env=env,
        env_from=[EnvFromSource(secret_ref=LocalObjectReference(name=GIT_SECRET))],
        volume_mounts=mounts,
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
                            volumes=volumes,
                        ),
                    ),
                )
            ),
        ),
    )
