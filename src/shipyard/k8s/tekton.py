"""Typed models of the Tekton objects Shipyard renders: a misspelt field cannot be written.

Only the fields Shipyard uses, or that ``ci run`` executes, are modelled; each model rejects unknown fields
(``K8sModel``), which is also how ``ci run`` finds the Tekton features it does not support. Built-in
Kubernetes parts (environment variables, security contexts, ServiceAccounts, RBAC) come from ``shipyard.k8s.core``.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import Field, model_validator

from shipyard.k8s.base import K8sModel, ObjectMeta
from shipyard.k8s.core import EnvVar, LocalObjectReference, PodSecurityContext, SecurityContext

PIPELINE_API: Literal["tekton.dev/v1"] = "tekton.dev/v1"
TRIGGERS_API: Literal["triggers.tekton.dev/v1beta1"] = "triggers.tekton.dev/v1beta1"


class ParamSpec(K8sModel):
    """A declared parameter of a Task, Pipeline or TriggerTemplate."""

    name: str
    type: Literal["string", "array"] | None = None
    description: str | None = None
    default: str | list[str] | None = None


class Param(K8sModel):
    """A parameter value passed on."""

    name: str
    value: str | list[str]


class WorkspaceDeclaration(K8sModel):
    """A workspace a Task or Pipeline needs."""

    name: str
    description: str | None = None
    optional: bool | None = None
    read_only: bool | None = None


class WorkspaceBinding(K8sModel):
    """A pipeline workspace handed to a task's workspace."""

    name: str
    workspace: str


class TaskResult(K8sModel):
    """A value a Task writes for later tasks."""

    name: str
    type: Literal["string", "array"] | None = None
    description: str | None = None


class Step(K8sModel):
    """One container of a Task."""

    name: str
    image: str
    working_dir: str | None = None
    env: list[EnvVar] | None = None
    script: str
    security_context: SecurityContext | None = None
    on_error: Literal["continue", "stopAndFail"] | None = None
    timeout: str | None = None


class TaskSpec(K8sModel):
    """spec of a Task."""

    description: str | None = None
    params: list[ParamSpec] | None = None
    workspaces: list[WorkspaceDeclaration] | None = None
    results: list[TaskResult] | None = None
    steps: list[Step]


class Task(K8sModel):
    """A tekton.dev/v1 Task."""

    api_version: Literal["tekton.dev/v1"] = PIPELINE_API
    kind: Literal["Task"] = "Task"
    metadata: ObjectMeta
    spec: TaskSpec


class TaskRef(K8sModel):
    """The Task a pipeline task runs."""

    name: str


class MatrixInclude(K8sModel):
    """An explicit matrix combination, added to (or merged into) the generated ones."""

    name: str | None = None
    params: list[Param]


class Matrix(K8sModel):
    """Fan a pipeline task out over array parameters."""

    params: list[Param] | None = None
    include: list[MatrixInclude] | None = None


class WhenExpression(K8sModel):
    """Run a pipeline task only when ``input`` is (not) one of ``values``."""

    input: str
    operator: Literal["in", "notin"]
    values: list[str]


class PipelineTask(K8sModel):
    """A task inside a Pipeline."""

    name: str
    task_ref: TaskRef
    run_after: list[str] | None = None
    when: list[WhenExpression] | None = None
    params: list[Param] | None = None
    matrix: Matrix | None = None
    workspaces: list[WorkspaceBinding] | None = None
    on_error: Literal["continue", "stopAndFail"] | None = None
    timeout: str | None = None


class PipelineSpec(K8sModel):
    """spec of a Pipeline."""

    description: str | None = None
    params: list[ParamSpec] | None = None
    workspaces: list[WorkspaceDeclaration] | None = None
    tasks: list[PipelineTask]
    finally_: list[PipelineTask] | None = Field(default=None, alias="finally")


class Pipeline(K8sModel):
    """A tekton.dev/v1 Pipeline."""

    api_version: Literal["tekton.dev/v1"] = PIPELINE_API
    kind: Literal["Pipeline"] = "Pipeline"
    metadata: ObjectMeta
    spec: PipelineSpec


class VolumeClaimSpec(K8sModel):
    """The PVC made for a run's source workspace."""

    access_modes: list[str]
    resources: dict[str, dict[str, str]]


class VolumeClaimTemplate(K8sModel):
    """A PVC template (spec only: the run names it)."""

    spec: VolumeClaimSpec


class SecretVolume(K8sModel):
    """A Secret mounted as a workspace."""

    secret_name: str


class RunWorkspace(K8sModel):
    """A workspace of a PipelineRun: a fresh PVC or a Secret."""

    name: str
    volume_claim_template: VolumeClaimTemplate | None = None
    secret: SecretVolume | None = None


class PodTemplate(K8sModel):
    """Settings of the pods a PipelineRun's TaskRuns run in: where they are scheduled and as whom.

    Only pod-level settings that decide where and as whom a pod runs are modelled; settings that would change
    what a step sees (``env``, ``volumes``, ``hostAliases``, ``dnsConfig``) are not.
    """

    security_context: PodSecurityContext | None = None
    node_selector: dict[str, str] | None = None
    tolerations: list[dict[str, Any]] | None = None
    affinity: dict[str, Any] | None = None
    priority_class_name: str | None = None
    scheduler_name: str | None = None
    runtime_class_name: str | None = None
    image_pull_secrets: list[LocalObjectReference] | None = None
    automount_service_account_token: bool | None = None


class TaskRunTemplate(K8sModel):
    """Defaults for every TaskRun of a PipelineRun."""

    service_account_name: str
    pod_template: PodTemplate | None = None


class PipelineRunMeta(K8sModel):
    """metadata of a templated PipelineRun: a generated name, labels."""

    generate_name: str
    labels: dict[str, str] | None = None


class PipelineRunSpec(K8sModel):
    """spec of a PipelineRun."""

    pipeline_ref: TaskRef
    params: list[Param]
    workspaces: list[RunWorkspace]
    task_run_template: TaskRunTemplate


class PipelineRun(K8sModel):
    """A tekton.dev/v1 PipelineRun, as a TriggerTemplate creates it."""

    api_version: Literal["tekton.dev/v1"] = PIPELINE_API
    kind: Literal["PipelineRun"] = "PipelineRun"
    metadata: PipelineRunMeta
    spec: PipelineRunSpec


class BindingParam(K8sModel):
    """A TriggerBinding parameter: a value taken from the event (``$(body...)``)."""

    name: str
    value: str


class TriggerBindingSpec(K8sModel):
    """spec of a TriggerBinding."""

    params: list[BindingParam]


class TriggerBinding(K8sModel):
    """A triggers.tekton.dev/v1beta1 TriggerBinding."""

    api_version: Literal["triggers.tekton.dev/v1beta1"] = TRIGGERS_API
    kind: Literal["TriggerBinding"] = "TriggerBinding"
    metadata: ObjectMeta
    spec: TriggerBindingSpec


class TriggerTemplateSpec(K8sModel):
    """spec of a TriggerTemplate; its resource templates use ``$(tt.params.x)``."""

    params: list[ParamSpec]
    resourcetemplates: list[PipelineRun] = Field(alias="resourcetemplates")

    @model_validator(mode="after")
    def _template_params(self) -> TriggerTemplateSpec:
        # `$(params.x)` in a template is left unreplaced by Triggers (a classic mistake); only tt.params work.
        text = json.dumps([r.to_dict() for r in self.resourcetemplates])
        if "$(params." in text:
            raise ValueError("a TriggerTemplate refers to its params as $(tt.params.x), never $(params.x)")
        declared = {p.name for p in self.params}
        unknown = sorted(set(re.findall(r"\$\(tt\.params\.([A-Za-z0-9_-]+)\)", text)) - declared)
        if unknown:
            raise ValueError(f"$(tt.params.{unknown[0]}) is not a declared param; declared: {sorted(declared)}")
        return self


class TriggerTemplate(K8sModel):
    """A triggers.tekton.dev/v1beta1 TriggerTemplate."""

    api_version: Literal["triggers.tekton.dev/v1beta1"] = TRIGGERS_API
    kind: Literal["TriggerTemplate"] = "TriggerTemplate"
    metadata: ObjectMeta
    spec: TriggerTemplateSpec


class InterceptorRef(K8sModel):
    """A (Cluster)Interceptor by name."""

    name: str
    kind: Literal["ClusterInterceptor", "NamespacedInterceptor"] = "ClusterInterceptor"


class InterceptorParam(K8sModel):
    """An interceptor parameter; values are any JSON (lists, objects)."""

    name: str
    value: Any


class Interceptor(K8sModel):
    """One interceptor of a trigger."""

    name: str | None = None
    ref: InterceptorRef
    params: list[InterceptorParam]


class Ref(K8sModel):
    """A reference by name to a TriggerBinding or TriggerTemplate."""

    ref: str


class EventListenerTrigger(K8sModel):
    """A trigger of an EventListener: interceptors, then bindings into a template."""

    name: str
    interceptors: list[Interceptor]
    bindings: list[Ref]
    template: Ref

    @model_validator(mode="after")
    def _safe_filters(self) -> EventListenerTrigger:
        params = {i.ref.name: {p.name: p.value for p in i.params} for i in self.interceptors}
        github = params.get("github")
        if not github or not github.get("eventTypes") or not github.get("secretRef"):
            raise ValueError(f"trigger {self.name}: needs the github interceptor with a secretRef and eventTypes")
        events = set(github["eventTypes"])
        cel = str(params.get("cel", {}).get("filter", ""))
        if "body.ref" in cel and not events <= {"push", "create", "delete"}:
            raise ValueError(f"trigger {self.name}: filters on body.ref, which {sorted(events)} events may lack")
        if "pull_request" in events and "body.action" not in cel:
            raise ValueError(f"trigger {self.name}: a pull_request trigger needs a filter on body.action")
        return self


class EventListenerSpec(K8sModel):
    """spec of an EventListener."""

    service_account_name: str
    triggers: list[EventListenerTrigger]


class EventListener(K8sModel):
    """A triggers.tekton.dev/v1beta1 EventListener."""

    api_version: Literal["triggers.tekton.dev/v1beta1"] = TRIGGERS_API
    kind: Literal["EventListener"] = "EventListener"
    metadata: ObjectMeta
    spec: EventListenerSpec
