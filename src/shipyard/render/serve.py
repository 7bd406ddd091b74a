"""``shipyard serve`` on the cluster: a Deployment in cluster mode (it records webhook events and hands GitHub's
to Tekton's EventListener), its Service, its Ingress on ``ci.<domain>`` (where GitHub and Harbor post), the
claim that keeps its queue across restarts, and its Secret: an ExternalSecret from the store when
``secrets.store`` is set, else a Secret made by people and only referenced here.

People sign in with the tokens ``shipyard approvals token add`` made: the file of their hashes is the key
``tokens`` of the Secret ``identity.tokens.secret`` names (its own ExternalSecret with a store), or of
``shipyard-serve``. With ``identity.oidc``, its settings are rendered as a ConfigMap for the authenticating
proxy that logs people in with the provider (serve itself runs no OIDC flow; see docs/serve.md).

The pod runs as a non-root user with a read-only root file system, no privilege escalation, every capability
dropped and the runtime's default seccomp profile; it is ready when ``/readyz`` (the workers and a writable
queue) answers, and alive while ``/healthz`` does.
"""

from __future__ import annotations

import json

from shipyard.k8s.base import ObjectMeta
from shipyard.k8s.core import (
    Capabilities,
    ConfigMap,
    ConfigMapVolumeSource,
    Container,
    ContainerPort,
    Deployment,
    DeploymentSpec,
    DeploymentStrategy,
    EmptyDirVolumeSource,
    EnvFromSource,
    EnvVar,
    EnvVarSource,
    HTTPGetAction,
    Ingress,
    IngressRule,
    IngressSpec,
    IngressTLS,
    LabelSelector,
    LocalObjectReference,
    PersistentVolumeClaim,
    PersistentVolumeClaimSpec,
    PersistentVolumeClaimVolumeSource,
    PodSecurityContext,
    PodSpec,
    PodTemplateSpec,
    Probe,
    SeccompProfile,
    SecretKeySelector,
    SecretVolumeSource,
    SecurityContext,
    Service,
    ServicePort,
    ServiceSpec,
    TemplateMeta,
    Volume,
    VolumeMount,
    VolumeResources,
)
from shipyard.k8s.kustomize import Kustomization
from shipyard.promotion.oidc import oidc_config
from shipyard.render.common import INGRESS_CLASS, config_repo_url, part_of, store_secret, yaml_of
from shipyard.render.jobs import CONFIG_REPO_ARGS, GIT_SECRET, GITHUB_SECRET, JOBS_NAMESPACE, SPEC_CONFIGMAP, SPEC_DIR
from shipyard.render.jobs import github_repo as app_github_repo
from shipyard.render.tekton.names import NAMESPACE as CI_NAMESPACE
from shipyard.render.tekton.triggers import LISTENER
from shipyard.spec.model import Access, Platform
from shipyard.workspace.model import Workspace

NAME = "shipyard-serve"
SECRET = "shipyard-serve"  # keys: github-webhook-secret, tokens (unless identity.tokens.secret); harbor-*
SECRET_DIR = "/etc/shipyard-serve"
TOKENS_DIR = "/etc/shipyard-serve-tokens"  # identity.tokens.secret, when it names a Secret of its own
TOKENS_KEY = "tokens"
OIDC_CONFIGMAP = "shipyard-serve-oidc"
STATE_DIR = "/var/lib/shipyard"
PORT = 8080
USER = 1000  # the user of Shipyard's image
# Tekton Triggers names an EventListener's Service el-<name>, listening on 8080.
LISTENER_URL = f"http://el-{LISTENER}.{CI_NAMESPACE}.svc.cluster.local:8080"


def ci_host(platform: Platform) -> str:
    """Where the webhooks and the dashboard are served: ``ci.<domain>``."""
    return f"ci.{platform.domain}"


def tokens_secret(platform: Platform) -> str | None:
    """The Secret of its own that holds people's token hashes (``identity.tokens.secret``), if any."""
    return platform.identity.tokens.secret


def tokens_file(platform: Platform) -> str:
    """Where serve's pod reads people's token hashes."""
    return f"{TOKENS_DIR if tokens_secret(platform) else SECRET_DIR}/{TOKENS_KEY}"


def harbor_hook(platform: Platform) -> bool:
    """The Harbor hook is rendered when Harbor is the registry and the monorepo is on GitHub (it comments there)."""
    return platform.registry.kind == "harbor" and app_github_repo(platform) is not None


def render_serve(platform: Platform, workspace: Workspace) -> dict[str, str]:
    """``serve/``: the Deployment, Service, Ingress, claim, Secret (from the store) and a kustomization."""
    del workspace  # the service reads the spec and the config repo at run time
    labels = {"app.kubernetes.io/name": NAME, **part_of(platform)}
    meta = ObjectMeta(name=NAME, namespace=JOBS_NAMESPACE, labels=labels)
    files = {
        "serve/deployment.yaml": yaml_of(_deployment(platform, meta)),
        "serve/service.yaml": yaml_of(
            Service(
                metadata=meta,
                spec=ServiceSpec(
                    selector={"app.kubernetes.io/name": NAME},
                    ports=[ServicePort(name="http", port=80, target_port=PORT)],
                ),
            )
        ),
        "serve/ingress.yaml": yaml_of(
            Ingress(
                metadata=meta,
                spec=IngressSpec(
                    ingress_class_name=INGRESS_CLASS[Access.public],  # GitHub and Harbor post from outside
                    tls=[IngressTLS(hosts=[ci_host(platform)], secret_name=f"{NAME}-tls")],
                    rules=[IngressRule.to_service(ci_host(platform), NAME)],
                ),
            )
        ),
        "serve/state.yaml": yaml_of(
            PersistentVolumeClaim(
                metadata=meta,
                spec=PersistentVolumeClaimSpec(
                    access_modes=["ReadWriteOnce"], resources=VolumeResources(requests={"storage": "1Gi"})
                ),
            )
        ),
    }
    if platform.secrets.store:
        keys = {"github-webhook-secret": "github-webhook-secret"}
        if not tokens_secret(platform):
            keys[TOKENS_KEY] = TOKENS_KEY
        if harbor_hook(platform):
            keys |= {k: k for k in ("harbor-webhook-auth", "harbor-username", "harbor-password")}
        files["serve/secret.yaml"] = yaml_of(store_secret(platform, SECRET, "serve", keys, namespace=JOBS_NAMESPACE))
        own = tokens_secret(platform)
        if own:
            files["serve/tokens-secret.yaml"] = yaml_of(
                store_secret(platform, own, "serve-tokens", {TOKENS_KEY: TOKENS_KEY}, namespace=JOBS_NAMESPACE)
            )
    oidc = oidc_config(platform)
    if oidc is not None:
        files["serve/oidc.yaml"] = yaml_of(
            ConfigMap(
                metadata=ObjectMeta(name=OIDC_CONFIGMAP, namespace=JOBS_NAMESPACE, labels=labels),
                data={"oidc.json": json.dumps(oidc.to_json(), indent=2, sort_keys=True) + "\n"},
            )
        )
    resources = sorted(path.removeprefix("serve/") for path in files)
    files["serve/kustomization.yaml"] = yaml_of(Kustomization(resources=resources))
    return dict(sorted(files.items()))


def _args(platform: Platform) -> list[str]:
    args = [
        "serve",
        "--host",
        "0.0.0.0",  # inside the pod: the Service and the Ingress decide who reaches it
        "--port",
        str(PORT),
        "--mode",
        "cluster",
        "--root",
        SPEC_DIR,
        "--state-dir",
        f"{STATE_DIR}/serve",
        *CONFIG_REPO_ARGS,
        "--webhook-secret-file",
        f"{SECRET_DIR}/github-webhook-secret",
        "--forward-to",
        LISTENER_URL,
        "--auth",
        "token",
        "--tokens-file",
        tokens_file(platform),
        "--public-url",
        f"https://{ci_host(platform)}",
    ]
    if harbor_hook(platform):
        args += ["--harbor-auth-file", f"{SECRET_DIR}/harbor-webhook-auth"]
    return args


def _env(platform: Platform) -> list[EnvVar]:
    def secret(name: str, key: str, variable: str) -> EnvVar:
        return EnvVar(name=variable, value_from=EnvVarSource(secret_key_ref=SecretKeySelector(name=name, key=key)))

    env = [
        EnvVar(name="SHIPYARD_CONFIG_REPO", value=config_repo_url(platform)),
        EnvVar(name="HOME", value=STATE_DIR),  # git's configuration and credentials go on the volume
    ]
    if harbor_hook(platform):
        env += [
            secret(SECRET, "harbor-username", "SHIPYARD_HARBOR_USERNAME"),
            secret(SECRET, "harbor-password", "SHIPYARD_HARBOR_PASSWORD"),
            secret(GITHUB_SECRET, "token", "GITHUB_TOKEN"),
        ]
    return env


def _deployment(platform: Platform, meta: ObjectMeta) -> Deployment:
    def probe(path: str, delay: int) -> Probe:
        return Probe(http_get=HTTPGetAction(path=path, port="http"), initial_delay_seconds=delay, period_seconds=10)

    mounts = [
        VolumeMount(name="spec", mount_path=SPEC_DIR, read_only=True),
        VolumeMount(name="secrets", mount_path=SECRET_DIR, read_only=True),
        VolumeMount(name="state", mount_path=STATE_DIR),
        VolumeMount(name="tmp", mount_path="/tmp"),
    ]
    volumes = [
        Volume(name="spec", config_map=ConfigMapVolumeSource(name=SPEC_CONFIGMAP)),
        Volume(name="secrets", secret=SecretVolumeSource(secret_name=SECRET, default_mode=0o440)),
        Volume(name="state", persistent_volume_claim=PersistentVolumeClaimVolumeSource(claim_name=NAME)),
        Volume(name="tmp", empty_dir=EmptyDirVolumeSource()),
    ]
    own = tokens_secret(platform)
    if own:
        mounts.append(VolumeMount(name="tokens", mount_path=TOKENS_DIR, read_only=True))
        volumes.append(Volume(name="tokens", secret=SecretVolumeSource(secret_name=own, default_mode=0o440)))
    container = Container(
        name="serve",
        image=platform.shipyard_image,
        args=_args(platform),
        ports=[ContainerPort(name="http", container_port=PORT, protocol="TCP")],
        env_from=[EnvFromSource(secret_ref=LocalObjectReference(name=GIT_SECRET))],
        env=_env(platform),
        volume_mounts=mounts,
        readiness_probe=probe("/readyz", 2),
        liveness_probe=probe("/healthz", 10),
        security_context=SecurityContext(
            run_as_non_root=True,
            allow_privilege_escalation=False,
            read_only_root_filesystem=True,
            capabilities=Capabilities(drop=["ALL"]),
        ),
    )
    selector = {"app.kubernetes.io/name": NAME}
    return Deployment(
        metadata=meta,
        spec=DeploymentSpec(
            replicas=1,  # one queue on one volume: a second replica would need a shared queue
            selector=LabelSelector(match_labels=selector),
            strategy=DeploymentStrategy(type="Recreate"),  # the claim is ReadWriteOnce
            template=PodTemplateSpec(
                metadata=TemplateMeta(labels=dict(meta.labels or {})),
                spec=PodSpec(
                    service_account_name="shipyard",
                    security_context=PodSecurityContext(
                        run_as_non_root=True,
                        run_as_user=USER,
                        run_as_group=USER,
                        fs_group=USER,
                        seccomp_profile=SeccompProfile(type="RuntimeDefault"),
                    ),
                    containers=[container],
                    volumes=volumes,
                ),
            ),
        ),
    )
