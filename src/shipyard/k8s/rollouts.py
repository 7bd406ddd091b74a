"""Typed Argo Rollouts objects: a Rollout that takes over a Deployment's pods by ``workloadRef``."""

from __future__ import annotations

from typing import Literal

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


class CanaryStrategy(K8sModel):
    """Canary by replica weight (no service mesh needed)."""

    steps: list[CanaryStep]


class BlueGreenStrategy(K8sModel):
    """Blue-green between an active and a preview Service."""

    active_service: str
    preview_service: str
    auto_promotion_enabled: bool
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
