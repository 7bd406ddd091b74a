"""Kustomize: ``base/<service>/``, and per environment its promotable Component (created once; see
``configrepo.promotable``), the overlay of what its services share (``overlays/<env>/generated/``: Namespace,
database Secret) and one overlay per service (``overlays/<env>/generated/services/<service>/``), which one Argo CD
Application each deploys. Every service overlay of an environment includes the environment's promotable
Component, so one edit of its ``images:`` moves them all.

The base names each image by ``UNPROMOTED_DIGEST``: a service the Component does not pin runs nothing.

Preprod and production run an Argo Rollout over the Deployment (``workloadRef``): the Deployment is kept at zero
replicas and the Rollout runs its pod template with the environment's strategy. A canary's weights are sent by
ingress-nginx (a canary Service beside the stable one, and the canary Ingress the Rollouts controller makes from
the environment's Ingress), and an AnalysisTemplate aborts a bad canary; a blue-green checks its preview before
the switch.
"""

from __future__ import annotations

import posixpath

from shipyard.configrepo.promotable import overlay_dir, promotable_dir, promotable_path, seed_text
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
from shipyard.k8s.kustomize import (
    UNPROMOTED_DIGEST,
    FieldSpec,
    Kustomization,
    Labels,
    NameReference,
    Patch,
    TransformerConfig,
)
from shipyard.k8s.rollouts import (
    AnalysisTemplate,
    AnalysisTemplateRef,
    AnalysisTemplateSpec,
    BlueGreenStrategy,
    CanaryStep,
    CanaryStrategy,
    Metric,
    MetricProvider,
    NginxTrafficRouting,
    PrometheusMetric,
    Rollout,
    RolloutAnalysis,
    RolloutPause,
    RolloutSpec,
    RolloutStrategy,
    TrafficRouting,
    WebMetric,
    WorkloadRef,
)
from shipyard.render.common import INGRESS_CLASS, part_of, service_names, store_secret, yaml_of
from shipyard.spec.model import Analysis, Environment, Platform
from shipyard.times import parse_duration
from shipyard.workspace.model import Workspace

NAME_LABEL = "app.kubernetes.io/name"
ENV_LABEL = "shipyard.dev/environment"
ROLLOUT_TRANSFORMER = "rollout-transform.yaml"
OBJECTS = "objects.yaml"
PATCH = "patch.yaml"
DB_PASSWORD_KEY = "password"
SERVICE_PORT = 80
ARGOCD_SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
# Consecutive measurements without a 2xx answer that a smoke analysis tolerates: the third aborts.
SMOKE_ERRORS_TOLERATED = 2
# The smoke measurements before a blue-green switch (an analysis that blocks a switch must end).
SMOKE_COUNT = 3


def render_kustomize(platform: Platform, workspace: Workspace) -> dict[str, str]:
    """Every base, every environment's overlays and the seed of every environment's promotable Component."""
    files: dict[str, str] = {}
    services = service_names(workspace)
    for service in services:
        files.update(_base(platform, service))
    transformer = yaml_of(rollout_transformer())  # the same in every Rollout overlay: written once
    for env in platform.environments:
        files.update(_environment(platform, env))
        for service in services:
            files.update(_service_overlay(platform, env, service, transformer))
        files[promotable_path(env.name)] = seed_text()
    return files


def uses_rollout(env: Environment) -> bool:
    """True for environments whose strategy needs Argo Rollouts (canary, blue-green)."""
    return env.strategy.kind in ("canary", "blueGreen")


def environment_dir(env: str) -> str:
    """The overlay of what an environment's services share (its Namespace, its database Secret)."""
    return f"{overlay_dir(env)}/generated"


def service_dir(env: str, service: str) -> str:
    """The overlay of one service in one environment: what its Argo CD Application deploys."""
    return f"{environment_dir(env)}/services/{service}"


def service_sources(env: str, service: str) -> list[str]:
    """Every folder a service's overlay reads, relative to the config repo: its own, the promotable Component,
    the base."""
    return [service_dir(env, service), promotable_dir(env), f"base/{service}"]


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
                            image=f"{platform.registry.image(service)}@{UNPROMOTED_DIGEST}",
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
    config = ConfigMap(
        metadata=ObjectMeta(name=f"{service}-config", labels=_labels(platform, service)),
        data={"SERVICE_NAME": service, "PORT": str(settings.port), **dict(sorted(settings.env.items()))},
    )
    kustomization = Kustomization(resources=["deployment.yaml", "service.yaml", "configmap.yaml"])
    return {
        f"base/{service}/deployment.yaml": yaml_of(deployment),
        f"base/{service}/service.yaml": yaml_of(_service(platform, service, service)),
        f"base/{service}/configmap.yaml": yaml_of(config),
        f"base/{service}/kustomization.yaml": yaml_of(kustomization),
    }


def _service(platform: Platform, service: str, name: str) -> Service:
    """A Service named ``name`` in front of ``service``'s pods (Argo Rollouts narrows its selector to one
    version's pods when it is a canary, stable, active or preview Service)."""
    return Service(
        metadata=ObjectMeta(name=name, labels=_labels(platform, service)),
        spec=ServiceSpec(
            selector={NAME_LABEL: service},
            ports=[ServicePort(name="http", port=SERVICE_PORT, target_port=platform.service(service).port)],
        ),
    )


def _environment(platform: Platform, env: Environment) -> dict[str, str]:
    root = environment_dir(env.name)
    files: dict[str, str] = {}
    resources = ["namespace.yaml"]
    # Deleting this small Application (a rename, a mistake) must never take every service of the environment
    # with it: Argo CD keeps a resource marked Delete=false when its Application goes.
    namespace = Namespace(
        metadata=ObjectMeta(
            name=env.ns,
            labels={ENV_LABEL: env.name, **part_of(platform)},
            annotations={ARGOCD_SYNC_OPTIONS: "Delete=false"},
        )
    )
    if env.name == "sandbox" or env.ns == platform.sandbox.namespace:
        namespace.metadata.labels = {**(namespace.metadata.labels or {}), "shipyard.dev/sandbox": "true"}
        namespace.metadata.annotations = {
            **(namespace.metadata.annotations or {}),
            "shipyard.dev/ttl": platform.sandbox.ttl,
        }
    files[f"{root}/namespace.yaml"] = yaml_of(namespace)
    if platform.secrets.store and env.database:
        files[f"{root}/external-secrets.yaml"] = yaml_of(_database_secret(platform, env))
        resources.append("external-secrets.yaml")
    kustomization = Kustomization(namespace=env.ns, labels=[Labels(pairs={ENV_LABEL: env.name})], resources=resources)
    files[f"{root}/kustomization.yaml"] = yaml_of(kustomization)
    return files


def _service_overlay(platform: Platform, env: Environment, service: str, transformer: str) -> dict[str, str]:
    root = service_dir(env.name, service)
    rollout = uses_rollout(env)
    files = {
        f"{root}/{OBJECTS}": yaml_of(*_service_objects(platform, env, service)),
        f"{root}/{PATCH}": yaml_of(_deployment_patch(platform, env, service)),
    }
    if rollout:
        files[f"{root}/{ROLLOUT_TRANSFORMER}"] = transformer
    kustomization = Kustomization(
        namespace=env.ns,
        labels=[Labels(pairs={ENV_LABEL: env.name})],
        resources=[posixpath.relpath(f"base/{service}", root), OBJECTS],
        configurations=[ROLLOUT_TRANSFORMER] if rollout else None,
        components=[posixpath.relpath(promotable_dir(env.name), root)],
        patches=[Patch(path=PATCH)],
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


def _service_objects(
    platform: Platform, env: Environment, service: str
) -> list[AnalysisTemplate | Ingress | Rollout | Service]:
    host = env.host_for(service, platform.domain, platform.org)
    labels = _labels(platform, service)
    ingress = Ingress(
        metadata=ObjectMeta(name=service, labels=labels),
        spec=IngressSpec(
            ingress_class_name=INGRESS_CLASS[env.access],
            tls=[IngressTLS(hosts=[host], secret_name=f"{service}-tls")],
            rules=[IngressRule.to_service(host, service, SERVICE_PORT)],
        ),
    )
    objects: list[AnalysisTemplate | Ingress | Rollout | Service] = [ingress]
    strategy = env.strategy
    if strategy.canary is not None:
        canary = f"{service}-canary"
        steps: list[CanaryStep] = []
        for index, weight in enumerate(strategy.canary.steps):
            steps.append(CanaryStep(set_weight=weight))
            if index < len(strategy.canary.steps) - 1:
                steps.append(CanaryStep(pause=RolloutPause(duration=strategy.canary.pause)))
        template = _analysis_template(env, canary, strategy.canary.analysis, labels, background=True)
        objects += [
            _service(platform, service, canary),
            template,
            _rollout(
                platform,
                env,
                service,
                RolloutStrategy(
                    canary=CanaryStrategy(
                        canary_service=canary,
                        stable_service=service,
                        # ingress-nginx sends each step's weight to the canary Service through the canary Ingress
                        # the controller adds beside this one; without it the weights are only pod counts.
                        traffic_routing=TrafficRouting(nginx=NginxTrafficRouting(stable_ingress=ingress.metadata.name)),
                        # From the first pause on (the canary's pods are up), in the background of every step.
                        analysis=RolloutAnalysis(
                            templates=[AnalysisTemplateRef(template_name=template.metadata.name)], starting_step=1
                        ),
                        steps=steps,
                    )
                ),
            ),
        ]
    elif strategy.blue_green is not None:
        preview = f"{service}-preview"
        template = _analysis_template(env, preview, strategy.blue_green.analysis, labels, background=False)
        blue_green = BlueGreenStrategy(
            active_service=service,
            preview_service=preview,
            auto_promotion_enabled=strategy.blue_green.auto_promotion_enabled,
            pre_promotion_analysis=RolloutAnalysis(
                templates=[AnalysisTemplateRef(template_name=template.metadata.name)]
            ),
            scale_down_delay_seconds=int(parse_duration(strategy.blue_green.scale_down_delay).total_seconds()),
        )
        objects += [
            _service(platform, service, preview),
            template,
            _rollout(platform, env, service, RolloutStrategy(blue_green=blue_green)),
        ]
    return objects


def _seconds(duration: str) -> str:
    return f"{int(parse_duration(duration).total_seconds())}s"


def _analysis_template(
    env: Environment, target: str, analysis: Analysis, labels: dict[str, str], *, background: bool
) -> AnalysisTemplate:
    """The checks of the new version behind Service ``target``. A background analysis runs until the Rollout no
    longer needs it; one that blocks a step or a switch must end, so it counts its measurements."""
    metrics: list[Metric] = []
    if analysis.smoke is not None:
        url = f"http://{target}.{env.ns}.svc.cluster.local{analysis.smoke.path}"
        metrics.append(
            Metric(
                name="smoke",
                interval=_seconds(analysis.smoke.interval),
                count=None if background else SMOKE_COUNT,
                consecutive_error_limit=SMOKE_ERRORS_TOLERATED,
                provider=MetricProvider(web=WebMetric(url=url, timeout_seconds=10)),
            )
        )
    if analysis.prometheus is not None:
        prometheus = analysis.prometheus
        window = f"{2 * int(parse_duration(prometheus.interval).total_seconds())}s"
        # ingress-nginx labels a request that went to a canary backend with `canary` = that backend's upstream,
        # <namespace>-<service>-<port>; without traffic the canary has no answers to judge, and passes.
        selector = f'namespace="{env.ns}",canary="{env.ns}-{target}-{SERVICE_PORT}"'
        served = f"sum(rate(nginx_ingress_controller_requests{{{selector}}}[{window}]))"
        good = f'sum(rate(nginx_ingress_controller_requests{{{selector},status!~"5.."}}[{window}]))'
        metrics.append(
            Metric(
                name="success-rate",
                interval=_seconds(prometheus.interval),
                success_condition=f"len(result) == 0 || isNaN(result[0]) || result[0] >= {prometheus.success_rate}",
                failure_limit=1,
                provider=MetricProvider(
                    prometheus=PrometheusMetric(address=prometheus.address, query=f"{good} / {served}")
                ),
            )
        )
    return AnalysisTemplate(metadata=ObjectMeta(name=target, labels=labels), spec=AnalysisTemplateSpec(metrics=metrics))


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
    """Field specs that teach kustomize the Rollout kind: its references to Services, to the stable Ingress, to
    its AnalysisTemplates and to the Deployment, so name prefixes and suffixes rename them together. The
    Rollouts here have no pod template of their own (``workloadRef``), so images and template labels need no
    field specs."""

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
            NameReference(
                kind="Ingress",
                group="networking.k8s.io",
                version="v1",
                field_specs=[spec("spec/strategy/canary/trafficRouting/nginx/stableIngress")],
            ),
            NameReference(
                kind="AnalysisTemplate",
                group="argoproj.io",
                version="v1alpha1",
                field_specs=[
                    spec("spec/strategy/canary/analysis/templates/templateName"),
                    spec("spec/strategy/blueGreen/prePromotionAnalysis/templates/templateName"),
                ],
            ),
            NameReference(kind="Deployment", group="apps", version="v1", field_specs=[spec("spec/workloadRef/name")]),
        ],
    )
