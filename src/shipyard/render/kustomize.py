"""Kustomize: ``base/<service>/`` and ``overlays/<env>/generated/`` per environment, plus each
environment's top ``kustomization.yaml`` (the promotable state, created once; see ``configrepo.promotable``).

Preprod and production run an Argo Rollout over the Deployment (``workloadRef``): the Deployment is
kept at zero replicas and the Rollout runs its pod template with the environment's strategy.
"""

from __future__ import annotations

from shipyard.configrepo.promotable import overlay_path, seed_text
from shipyard.k8s.base import ObjectMeta
from shipyard.k8s.core import (
    ConfigMap,
    Container,
    ContainerPatch,
    ContainerPort,
    Deployment,
    DeploymentPatch,
    DeploymentSpec,
    DeploymentSpecPatch,
    DeploymentStrategy,
    EnvFromSource,
    EnvVar,
    EnvVarSource,
    ExternalSecret,
    Ingress,
    IngressRule,
    IngressSpec,
    IngressTLS,
    LabelSelector,
    LocalObjectReference,
    Namespace,
    PatchMeta,
    PodSpec,
    PodSpecPatch,
    PodTemplatePatch,
    PodTemplateSpec,
    ResourceRequirements,
    RollingUpdateDeployment,
    SecretKeySelector,
    Service,
    ServicePort,
    ServiceSpec,
    TemplateMeta,
)
from shipyard.k8s.kustomize import FieldSpec, Image, Kustomization, Labels, NameReference, Patch, TransformerConfig
from shipyard.k8s.rollouts import (
    BlueGreenStrategy,
    CanaryStep,
    CanaryStrategy,
    Rollout,
    RolloutPause,
    RolloutSpec,
    RolloutStrategy,
    WorkloadRef,
)
from shipyard.render.common import INGRESS_CLASS, part_of, service_names, store_secret, yaml_of
from shipyard.spec.model import Environment, Platform
from shipyard.times import parse_duration
from shipyard.workspace.model import Workspace

NAME_LABEL = "app.kubernetes.io/name"
ENV_LABEL = "shipyard.dev/environment"
ROLLOUT_TRANSFORMER = "rollout-transform.yaml"
DB_PASSWORD_KEY = "password"


def render_kustomize(platform: Platform, workspace: Workspace) -> dict[str, str]:
    """Every base, every overlay's ``generated/`` and the seed of every overlay's top kustomization."""
    files: dict[str, str] = {}
    services = service_names(workspace)
    for service in services:
        files.update(_base(platform, service))
    for env in platform.environments:
        files.update(_overlay(platform, env, services))
        files[overlay_path(env.name)] = seed_kustomization(platform, env, services)
    return files


def uses_rollout(env: Environment) -> bool:
    """True for environments whose strategy needs Argo Rollouts (canary, blue-green)."""
    return env.strategy.kind in ("canary", "blueGreen")


def seed_kustomization(platform: Platform, env: Environment, services: list[str]) -> str:
    """The first version of an environment's promotable state: the maturity's moving tag until promoted."""
    tag = env.maturities[0].value if env.maturities else "latest"
    return seed_text(env.name, [Image(name=platform.registry.image(s), new_tag=tag) for s in services])


def _labels(platform: Platform, service: str) -> dict[str, str]:
    return {NAME_LABEL: service, **part_of(platform)}


def _base(platform: Platform, service: str) -> dict[str, str]:
    settings = platform.service(service)
    selector = {NAME_LABEL: service}
    deployment = Deployment(
        metadata=ObjectMeta(name=service, labels=_labels(platform, service)),
        spec=DeploymentSpec(
            selector=LabelSelector(match_labels=selector),
            template=PodTemplateSpec(
                metadata=TemplateMeta(labels=_labels(platform, service)),
                spec=PodSpec(
                    containers=[
                        Container(
                            name=service,
                            image=platform.registry.image(service),
                            ports=[ContainerPort(name="http", container_port=settings.port)],
                            env_from=[EnvFromSource(config_map_ref=LocalObjectReference(name=f"{service}-config"))],
                            resources=ResourceRequirements(
                                requests=dict(settings.resources.requests) or None,
                                limits=dict(settings.resources.limits) or None,
                            ),
                        )
                    ]
                ),
            ),
        ),
    )
    service_obj = Service(
        metadata=ObjectMeta(name=service, labels=_labels(platform, service)),
        spec=ServiceSpec(selector=selector, ports=[ServicePort(name="http", port=80, target_port=settings.port)]),
    )
    config = ConfigMap(
        metadata=ObjectMeta(name=f"{service}-config", labels=_labels(platform, service)),
        data={"SERVICE_NAME": service, "PORT": str(settings.port), **dict(sorted(settings.env.items()))},
    )
    kustomization = Kustomization(resources=["deployment.yaml", "service.yaml", "configmap.yaml"])
    return {
        f"base/{service}/deployment.yaml": yaml_of(deployment),
        f"base/{service}/service.yaml": yaml_of(service_obj),
        f"base/{service}/configmap.yaml": yaml_of(config),
        f"base/{service}/kustomization.yaml": yaml_of(kustomization),
    }


def _overlay(platform: Platform, env: Environment, services: list[str]) -> dict[str, str]:
    root = f"overlays/{env.name}/generated"
    files: dict[str, str] = {}
    resources = ["namespace.yaml"]
    namespace = Namespace(metadata=ObjectMeta(name=env.ns, labels={ENV_LABEL: env.name, **part_of(platform)}))
    if env.name == "sandbox" or env.ns == platform.sandbox.namespace:
        namespace.metadata.labels = {**(namespace.metadata.labels or {}), "shipyard.dev/sandbox": "true"}
        namespace.metadata.annotations = {"shipyard.dev/ttl": platform.sandbox.ttl}
    files[f"{root}/namespace.yaml"] = yaml_of(namespace)
    if platform.secrets.store and env.database:
        files[f"{root}/external-secrets.yaml"] = yaml_of(_database_secret(platform, env))
        resources.append("external-secrets.yaml")
    resources += [f"../../../base/{service}" for service in services]
    patches: list[Patch] = []
    rollout = uses_rollout(env)
    for service in services:
        files[f"{root}/{service}.yaml"] = yaml_of(*_service_objects(platform, env, service))
        files[f"{root}/patches/{service}.yaml"] = yaml_of(_deployment_patch(platform, env, service))
        resources.append(f"{service}.yaml")
        patches.append(Patch(path=f"patches/{service}.yaml"))
    if rollout:
        files[f"{root}/{ROLLOUT_TRANSFORMER}"] = yaml_of(rollout_transformer())
    kustomization = Kustomization(
        namespace=env.ns,
        labels=[Labels(pairs={ENV_LABEL: env.name})],
        resources=resources,
        configurations=[ROLLOUT_TRANSFORMER] if rollout else None,
        patches=patches,
    )
    files[f"{root}/kustomization.yaml"] = yaml_of(kustomization)
    return files


def _database_secret(platform: Platform, env: Environment) -> ExternalSecret:
    assert env.database is not None
    return store_secret(platform, env.database.secret_ref, f"{env.name}/database", {DB_PASSWORD_KEY: "password"})


def _deployment_patch(platform: Platform, env: Environment, service: str) -> DeploymentPatch:
    env_vars = [EnvVar(name="ENVIRONMENT", value=env.name)]
    if env.database:
        env_vars.append(EnvVar(name="DATABASE_URL", value=env.database.url))
        env_vars.append(
            EnvVar(
                name="DATABASE_PASSWORD",
                value_from=EnvVarSource(
                    secret_key_ref=SecretKeySelector(name=env.database.secret_ref, key=DB_PASSWORD_KEY)
                ),
            )
        )
    strategy: DeploymentStrategy | None = None
    if env.strategy.kind == "recreate":
        strategy = DeploymentStrategy(type="Recreate")
    elif env.strategy.kind == "rolling":
        strategy = DeploymentStrategy(
            type="RollingUpdate", rolling_update=RollingUpdateDeployment(max_surge="25%", max_unavailable=0)
        )
    return DeploymentPatch(
        metadata=PatchMeta(name=service),
        spec=DeploymentSpecPatch(
            # Under a Rollout the Deployment only lends its pod template: the Rollout runs the pods.
            replicas=0 if uses_rollout(env) else platform.replicas(service, env.name),
            strategy=strategy,
            template=PodTemplatePatch(spec=PodSpecPatch(containers=[ContainerPatch(name=service, env=env_vars)])),
        ),
    )


def _service_objects(platform: Platform, env: Environment, service: str) -> list[Ingress | Rollout | Service]:
    host = env.host_for(service, platform.domain, platform.org)
    labels = _labels(platform, service)
    ingress = Ingress(
        metadata=ObjectMeta(name=service, labels=labels),
        spec=IngressSpec(
            ingress_class_name=INGRESS_CLASS[env.access],
            tls=[IngressTLS(hosts=[host], secret_name=f"{service}-tls")],
            rules=[IngressRule.to_service(host, service)],
        ),
    )
    objects: list[Ingress | Rollout | Service] = [ingress]
    strategy = env.strategy
    if strategy.canary is not None:
        steps: list[CanaryStep] = []
        for index, weight in enumerate(strategy.canary.steps):
            steps.append(CanaryStep(set_weight=weight))
            if index < len(strategy.canary.steps) - 1:
                steps.append(CanaryStep(pause=RolloutPause(duration=strategy.canary.pause)))
        objects.append(_rollout(platform, env, service, RolloutStrategy(canary=CanaryStrategy(steps=steps))))
    elif strategy.blue_green is not None:
        preview = f"{service}-preview"
        objects.append(
            Service(
                metadata=ObjectMeta(name=preview, labels=labels),
                spec=ServiceSpec(
                    selector={NAME_LABEL: service},
                    ports=[ServicePort(name="http", port=80, target_port=platform.service(service).port)],
                ),
            )
        )
        blue_green = BlueGreenStrategy(
            active_service=service,
            preview_service=preview,
            auto_promotion_enabled=strategy.blue_green.auto_promotion_enabled,
            scale_down_delay_seconds=int(parse_duration(strategy.blue_green.scale_down_delay).total_seconds()),
        )
        objects.append(_rollout(platform, env, service, RolloutStrategy(blue_green=blue_green)))
    return objects


def _rollout(platform: Platform, env: Environment, service: str, strategy: RolloutStrategy) -> Rollout:
    return Rollout(
        metadata=ObjectMeta(name=service, labels=_labels(platform, service)),
        spec=RolloutSpec(
            replicas=platform.replicas(service, env.name),
            revision_history_limit=3,
            selector=LabelSelector(match_labels={NAME_LABEL: service}),
            workload_ref=WorkloadRef(name=service, scale_down="never"),
            strategy=strategy,
        ),
    )


def rollout_transformer() -> TransformerConfig:
    """Field specs that teach kustomize the Rollout kind: its references to Services and to the
    Deployment, so name prefixes and suffixes rename them together. The Rollouts here have no pod
    template of their own (``workloadRef``), so images and template labels need no field specs."""

    def spec(path: str) -> FieldSpec:
        return FieldSpec(kind="Rollout", group="argoproj.io", path=path)

    return TransformerConfig(
        name_reference=[
            NameReference(
                kind="Service",
                version="v1",
                field_specs=[
                    spec("spec/strategy/blueGreen/activeService"),
                    spec("spec/strategy/blueGreen/previewService"),
                    spec("spec/strategy/canary/canaryService"),
                    spec("spec/strategy/canary/stableService"),
                ],
            ),
            NameReference(kind="Deployment", group="apps", version="v1", field_specs=[spec("spec/workloadRef/name")]),
        ],
    )
