"""Typed Argo Rollouts objects: a Rollout that takes over a Deployment's pods by ``workloadRef``, and the
AnalysisTemplates whose runs decide whether a new version goes on or is aborted."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shipyard.k8s.base import K8sModel, ObjectMeta
from shipyard.k8s.core import LabelSelector


class WorkloadRef(K8sModel):
    """The Deployment whose pod template the Rollout runs."""

    api_version: Literal["apps/v1"] = "apps/v1"
    kind: Literal["Deployment"] = "Deployment"
    name: str
    scale_down: Literal["never", "onsuccess", "progressively"] = "onsuccess"


class RolloutPause(K8sModel):
    """Wait: a duration, or for a person to promote when absent."""

    duration: str | None = None


class CanaryStep(K8sModel):
    """One canary step: a traffic weight or a pause."""

    set_weight: int | None = None
    pause: RolloutPause | None = None


class AnalysisTemplateRef(K8sModel):
    """An AnalysisTemplate of the Rollout's namespace, by name."""

    template_name: str


class RolloutAnalysis(K8sModel):
    """AnalysisRuns started from templates: in the background of a canary (from ``startingStep`` on), or
    before a blue-green switch. A run that fails or errors aborts the Rollout."""

    templates: list[AnalysisTemplateRef]
    starting_step: int | None = None


class NginxTrafficRouting(K8sModel):
    """ingress-nginx: the controller adds a canary Ingress beside ``stableIngress`` with the step's weight."""

    stable_ingress: str


class TrafficRouting(K8sModel):
    """How traffic is split between the canary and the stable pods."""

    nginx: NginxTrafficRouting


class CanaryStrategy(K8sModel):
    """Canary: with traffic routing, each ``setWeight`` is the share of requests the ingress sends to the
    canary Service, whatever the number of pods."""

    canary_service: str | None = None
    stable_service: str | None = None
    traffic_routing: TrafficRouting | None = None
    analysis: RolloutAnalysis | None = None
    steps: list[CanaryStep]


class BlueGreenStrategy(K8sModel):
    """Blue-green between an active and a preview Service."""

    active_service: str
    preview_service: str
    auto_promotion_enabled: bool
    pre_promotion_analysis: RolloutAnalysis | None = None
    scale_down_delay_seconds: int | None = None


class RolloutStrategy(K8sModel):
    """Exactly one of canary and blue-green."""

    canary: CanaryStrategy | None = None
    blue_green: BlueGreenStrategy | None = None


class RolloutSpec(K8sModel):
    """Rollout spec."""

    replicas: int
    revision_history_limit: int | None = None
    selector: LabelSelector
    workload_ref: WorkloadRef
    strategy: RolloutStrategy


class Rollout(K8sModel):
    """argoproj.io/v1alpha1 Rollout."""

    api_version: Literal["argoproj.io/v1alpha1"] = "argoproj.io/v1alpha1"
    kind: Literal["Rollout"] = "Rollout"
    metadata: ObjectMeta
    spec: RolloutSpec


class WebMetric(K8sModel):
    """Argo Rollouts' controller sends a request itself: a 2xx answer is a successful measurement, anything
    else (or no answer) an error."""

    url: str
    timeout_seconds: int | None = None


class PrometheusMetric(K8sModel):
    """A PromQL query; ``result`` is its vector in the metric's conditions."""

    address: str
    query: str


class MetricProvider(K8sModel):
    """Exactly one source of measurements."""

    web: WebMetric | None = None
    prometheus: PrometheusMetric | None = None


class Metric(K8sModel):
    """One measurement, repeated every ``interval`` (``count`` times, or until the Rollout no longer needs it)."""

    name: str
    interval: str | None = None
    count: int | None = None
    success_condition: str | None = None
    failure_limit: int | None = None
    consecutive_error_limit: int | None = None
    provider: MetricProvider


class AnalysisTemplateSpec(K8sModel):
    """AnalysisTemplate spec."""

    metrics: list[Metric] = Field(min_length=1)


class AnalysisTemplate(K8sModel):
    """argoproj.io/v1alpha1 AnalysisTemplate."""

    api_version: Literal["argoproj.io/v1alpha1"] = "argoproj.io/v1alpha1"
    kind: Literal["AnalysisTemplate"] = "AnalysisTemplate"
    metadata: ObjectMeta
    spec: AnalysisTemplateSpec
