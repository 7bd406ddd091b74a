"""The platform's scheduled jobs: the daily sandbox reset and its database, the TTL check, and the
preview clean-up every six hours, each on the cluster it works on.

Each runs a ``shipyard`` command in Shipyard's own pinned image (no shell scripts), with the spec
mounted from a ConfigMap and credentials from Secrets referenced by name, never rendered.

On a cluster:

- **Git credentials in a form git reads.** git reads no ``GIT_USERNAME``/``GIT_PASSWORD``, and Shipyard runs it
  with prompts off, so a private config repo answered 401 and every job failed. The Secret ``shipyard-git``
  (``username``, ``password``: a ``kubernetes.io/basic-auth`` Secret) is mounted as files, and the job's git
  configuration (``GIT_CONFIG_COUNT``/``_KEY_n``/``_VALUE_n``, read by git itself) gives the config repo's host
  a credential helper that answers git's ``get`` with those files; no other host is given them.
- **The restricted Pod Security level.** The namespace enforces it; each pod runs as Shipyard's user (1000)
  with the runtime's seccomp profile, no privilege escalation, every capability dropped and a read-only root
  file system (temporary clones go to an ``emptyDir`` at ``/tmp``).
- **Exactly the access each job needs.** A job that makes no Kubernetes API call gets no token
  (``automountServiceAccountToken: false``); what the others may do is in ``shipyard.k8s.jobaccess``.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

from shipyard.errors import ShipyardError
from shipyard.k8s.base import K8sModel, ObjectMeta
from shipyard.k8s.core import (
    Capabilities,
    ConfigMap,
    ConfigMapVolumeSource,
    Container,
    CronJob,
    CronJobSpec,
    EmptyDirVolumeSource,
    EnvVar,
    EnvVarSource,
    ExternalSecretTemplate,
    JobSpec,
    JobTemplateSpec,
    Namespace,
    PodSecurityContext,
    PodSpec,
    PodTemplateSpec,
    PolicyRule,
    Role,
    RoleBinding,
    RoleRef,
    SeccompProfile,
    SecretKeySelector,
    SecretVolumeSource,
    SecurityContext,
    ServiceAccount,
    Subject,
    TemplateMeta,
    Volume,
    VolumeMount,
)
from shipyard.k8s.jobaccess import calls_of
from shipyard.k8s.yaml import dump
from shipyard.render.common import cluster_folder, config_repo_url, part_of, store_secret, yaml_of
from shipyard.sandbox.state import CHECK_EVERY
from shipyard.spec.model import Platform
from shipyard.workspace.model import Workspace

JOBS_NAMESPACE = "shipyard-system"
SPEC_CONFIGMAP = "shipyard-spec"
GIT_SECRET = "shipyard-git"
GIT_DIR = "/etc/shipyard-git"
SPEC_DIR = "/etc/shipyard"
TMP_DIR = "/tmp"
# Shipyard's image runs as this user (the Dockerfile's ``USER 1000``); the pods say so, as the restricted
# Pod Security level asks, and the Secret files are group-readable by it (fsGroup).
SHIPYARD_UID = 1000
POD_SECURITY = {"pod-security.kubernetes.io/enforce": "restricted"}
# Kubernetes expands $(VAR) in args from the container's env, so the URL is written once, in the env.
CONFIG_REPO_ARGS = ["--config-repo", "$(SHIPYARD_CONFIG_REPO)"]
# The sandbox database job's Secret (created by the platform team, referenced by name): `pgpass`, a libpq
# password file with a line for production's server and one for the sandbox's, and `salt`, the masking salt.
SANDBOX_DB_SECRET = "shipyard-sandbox-db"
SANDBOX_DB_SECRET_DIR = "/etc/shipyard-db"
SANDBOX_DB_DIR = "/var/run/shipyard-db"
RULES_KEY = "sandbox-rules.yaml"
# The GitHub token preview clean-up reads PR states with (key `token`), referenced by name.
GITHUB_SECRET = "shipyard-github"
SANDBOX_RESET = "sandbox-reset"
SANDBOX_ACCOUNT = "shipyard-sandbox"
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
    database_job = _sandbox_database_job(platform, bool(rules))
    # The TTL governs the reset: the TTL check ends the sandbox, on the cluster too, at the check nearest the
    # end of its TTL, so a TTL over a day is honoured and one under a day ends on time. The daily sync only
    # follows production's images, and keeps the TTL running.
    reset = ["sandbox", "reset", "--if-expired", "--cluster"]
    if database_job is not None:
        reset += ["--database-job", database_job.metadata.name]
    cronjobs[sandbox] += [
        _cronjob(platform, "sandbox-sync", platform.sandbox.schedule, ["sandbox", "sync", *CONFIG_REPO_ARGS]),
        _cronjob(platform, SANDBOX_RESET, _every(CHECK_EVERY), [*reset, *CONFIG_REPO_ARGS], account=SANDBOX_ACCOUNT),
    ]
    if database_job is not None:
        cronjobs[sandbox].append(database_job)
    cronjobs[preview].append(_preview_cleanup(platform))
    files: dict[str, str] = {}
    for folder, jobs in cronjobs.items():
        files.update(_folder_files(platform, folder, jobs, rules if folder == sandbox else {}))
    files[f"{sandbox}sandbox-rbac.yaml"] = yaml_of(*_sandbox_rbac(platform, database_job))
    return files


def _every(period: timedelta) -> str:
    """A cron schedule running every ``period`` (whole minutes dividing an hour)."""
    return f"*/{int(period.total_seconds() // 60)} * * * *"


def _sandbox_rbac(platform: Platform, database_job: CronJob | None) -> list[K8sModel]:
    """The sandbox reset's own ServiceAccount and exactly the calls its command makes (``k8s.jobaccess``): the
    workloads of the sandbox's namespace, and its database CronJob in the jobs' namespace."""
    labels = part_of(platform)
    env = platform.sandbox_environment
    namespaces = {"sandbox": env.ns if env is not None else platform.sandbox.namespace, "own": JOBS_NAMESPACE}
    rules: dict[str, list[PolicyRule]] = {}
    args = ["sandbox", "reset", "--cluster", *(["--database-job"] if database_job is not None else [])]
    for call in calls_of(args):
        names = [database_job.metadata.name] if call.resource == "cronjobs" and database_job is not None else None
        rules.setdefault(namespaces[call.scope], []).append(
            PolicyRule(api_groups=[call.group], resources=[call.resource], resource_names=names, verbs=list(call.verbs))
        )
    objects: list[K8sModel] = [
        ServiceAccount(metadata=ObjectMeta(name=SANDBOX_ACCOUNT, namespace=JOBS_NAMESPACE, labels=labels))
    ]
    for namespace, granted in sorted(rules.items()):
        meta = ObjectMeta(name=SANDBOX_RESET, namespace=namespace, labels=labels)
        objects.append(Role(metadata=meta, rules=granted))
        objects.append(
            RoleBinding(
                metadata=meta,
                role_ref=RoleRef(name=SANDBOX_RESET),
                subjects=[Subject(name=SANDBOX_ACCOUNT, namespace=JOBS_NAMESPACE)],
            )
        )
    return objects


def _folder(platform: Platform, cluster: str) -> str:
    """``jobs/`` or ``jobs/<cluster>/``, with its trailing slash."""
    name = cluster_folder(platform, cluster)
    return f"jobs/{name}/" if name else "jobs/"


def _folder_files(platform: Platform, folder: str, jobs: list[CronJob], rules: dict[str, str]) -> dict[str, str]:
    """One cluster's jobs and what they read there: every Secret comes from the store (git for all, the GitHub
    token when previews ask GitHub, the database files when the sandbox database job runs)."""
    labels = part_of(platform)
    files = {
        f"{folder}namespace.yaml": yaml_of(
            Namespace(metadata=ObjectMeta(name=JOBS_NAMESPACE, labels={**labels, **POD_SECURITY}))
        ),
        f"{folder}spec.yaml": yaml_of(
            ConfigMap(
                metadata=ObjectMeta(name=SPEC_CONFIGMAP, namespace=JOBS_NAMESPACE, labels=labels),
                data={"shipyard.yaml": dump(platform.model_dump(mode="json", by_alias=True)), **rules},
            )
        ),
        f"{folder}serviceaccount.yaml": yaml_of(
            ServiceAccount(
                metadata=ObjectMeta(name="shipyard", namespace=JOBS_NAMESPACE, labels=labels),
                automount_service_account_token=False,
            )
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
            {"username": "git_username", "password": "git_password"},
            namespace=JOBS_NAMESPACE,
            template=ExternalSecretTemplate(type="kubernetes.io/basic-auth"),
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
    """The sandbox database's job: a masked clone of production, or synthetic rows. Suspended: the sandbox
    reset starts it when the TTL runs out, so the data is renewed with the sandbox, not on a clock of its own.

    An anonymized clone needs a rules file (there is no safe default for what to mask), so without one
    no clone job is rendered.
    """
    database = platform.sandbox.database
    if database.strategy == "synthetic":
        args = ["sandbox", "db", "synth", "--to", database.url, "--rows", str(database.rows)]
        return _cronjob(
            platform,
            "sandbox-db-synth",
            platform.sandbox.schedule,
            args,
            database_secret=True,
            salt=False,
            suspend=True,
        )
    if not has_rules:
        return None
    mirrored = platform.environment("sandbox").upstream or "production"
    source = platform.environment(mirrored).database
    if source is None:
        return None
    args = ["sandbox", "db", "clone", "--from", source.url, "--to", database.url, "--rules", f"{SPEC_DIR}/{RULES_KEY}"]
    return _cronjob(
        platform, "sandbox-db-clone", platform.sandbox.schedule, args, database_secret=True, salt=True, suspend=True
    )


def git_credential_env(platform: Platform) -> list[EnvVar]:
    """The git configuration, as environment, that hands the config repo's host the mounted credentials.

    git reads ``GIT_CONFIG_COUNT`` and ``GIT_CONFIG_KEY_<n>``/``GIT_CONFIG_VALUE_<n>`` as command-line config
    (git 2.31+). ``credential.<url>.helper`` applies only to URLs of that scheme and host; a helper starting
    with ``!`` is run by the shell with the action as its argument, and answers ``get`` on its output.
    """
    parts = urlsplit(config_repo_url(platform))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return []  # ssh and local paths take no HTTP credentials
    scope = f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"
    helper = (
        '!f() { test "$1" = get || return 0; '
        f'echo "username=$(cat {GIT_DIR}/username)"; echo "password=$(cat {GIT_DIR}/password)"; }}; f'
    )
    return [
        EnvVar(name="GIT_CONFIG_COUNT", value="1"),
        EnvVar(name="GIT_CONFIG_KEY_0", value=f"credential.{scope}.helper"),
        EnvVar(name="GIT_CONFIG_VALUE_0", value=helper),
    ]


def _cronjob(
    platform: Platform,
    name: str,
    schedule: str,
    args: list[str],
    *,
    database_secret: bool = False,
    salt: bool = False,
    extra_env: list[EnvVar] | None = None,
    account: str | None = None,
    suspend: bool | None = None,
) -> CronJob:
    """A CronJob running ``shipyard <args>``; ``account`` is the ServiceAccount of a job that calls the API."""
    labels = {"app.kubernetes.io/name": name, **part_of(platform)}
    # The database jobs never read the config repo: they are given neither its URL nor credentials for it.
    repo = [] if database_secret else [EnvVar(name="SHIPYARD_CONFIG_REPO", value=config_repo_url(platform))]
    env = [*repo, *(extra_env or [])]
    mounts = [
        VolumeMount(name="spec", mount_path=SPEC_DIR, read_only=True),
        VolumeMount(name="tmp", mount_path=TMP_DIR),
    ]
    volumes = [
        Volume(name="spec", config_map=ConfigMapVolumeSource(name=SPEC_CONFIGMAP)),
        Volume(name="tmp", empty_dir=EmptyDirVolumeSource()),
    ]
    init: list[Container] | None = None
    if database_secret:
        # libpq reads passwords from PGPASSFILE and ignores a file its group or others can read, and a Secret's
        # files belong to root: an init container copies it, as Shipyard's user with mode 0600, into memory.
        env.append(EnvVar(name="PGPASSFILE", value=f"{SANDBOX_DB_DIR}/pgpass"))
        if salt:
            selector = SecretKeySelector(name=SANDBOX_DB_SECRET, key="salt")
            env.append(EnvVar(name="SHIPYARD_SANDBOX_SALT", value_from=EnvVarSource(secret_key_ref=selector)))
        mounts.append(VolumeMount(name="pgpass", mount_path=SANDBOX_DB_DIR, read_only=True))
        volumes += [
            Volume(name="database", secret=SecretVolumeSource(secret_name=SANDBOX_DB_SECRET, default_mode=0o440)),
            Volume(name="pgpass", empty_dir=EmptyDirVolumeSource(medium="Memory")),
        ]
        init = [
            Container(
                name="pgpass",
                image=platform.shipyard_image,
                command=["install", "-m", "0600", f"{SANDBOX_DB_SECRET_DIR}/pgpass", f"{SANDBOX_DB_DIR}/pgpass"],
                volume_mounts=[
                    VolumeMount(name="database", mount_path=SANDBOX_DB_SECRET_DIR, read_only=True),
                    VolumeMount(name="pgpass", mount_path=SANDBOX_DB_DIR),
                ],
                security_context=_restricted(),
            )
        ]
    else:
        env += git_credential_env(platform)
        mounts.append(VolumeMount(name="git", mount_path=GIT_DIR, read_only=True))
        volumes.append(Volume(name="git", secret=SecretVolumeSource(secret_name=GIT_SECRET, default_mode=0o440)))
    container = Container(
        name=name,
        image=platform.shipyard_image,
        # Shipyard's image has no entrypoint: without a command, the first argument would be run as a program.
        command=["shipyard"],
        args=args,
        working_dir=SPEC_DIR,
        env=env,
        volume_mounts=mounts,
        security_context=_restricted(),
    )
    return CronJob(
        metadata=ObjectMeta(name=name, namespace=JOBS_NAMESPACE, labels=labels),
        spec=CronJobSpec(
            schedule=schedule,
            time_zone="Etc/UTC",
            suspend=suspend,
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
                            service_account_name=account or "shipyard",
                            automount_service_account_token=None if account else False,
                            restart_policy="Never",
                            security_context=PodSecurityContext(
                                run_as_non_root=True,
                                run_as_user=SHIPYARD_UID,
                                run_as_group=SHIPYARD_UID,
                                fs_group=SHIPYARD_UID,
                                seccomp_profile=SeccompProfile(type="RuntimeDefault"),
                            ),
                            init_containers=init,
                            containers=[container],
                            volumes=volumes,
                        ),
                    ),
                )
            ),
        ),
    )


def _restricted() -> SecurityContext:
    """A container as the restricted Pod Security level wants it, with a read-only root file system."""
    return SecurityContext(
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
        capabilities=Capabilities(drop=["ALL"]),
    )
