"""The EventListener and, per route, its TriggerBinding and TriggerTemplate.

The filters are compiled from ``shipyard.render.tekton.routes`` (the table ``ci plan`` evaluates), so what the
cluster runs for an event and what ``ci plan`` says it runs cannot drift apart.
"""

from __future__ import annotations

from shipyard.k8s.core import PodSecurityContext
from shipyard.k8s.tekton import (
    BindingParam,
    EventListener,
    EventListenerSpec,
    EventListenerTrigger,
    Interceptor,
    InterceptorParam,
    InterceptorRef,
    Param,
    ParamSpec,
    Pipeline,
    PipelineRun,
    PipelineRunMeta,
    PipelineRunSpec,
    PodTemplate,
    Ref,
    RunWorkspace,
    SecretVolume,
    TaskRef,
    TaskRunTemplate,
    TriggerBinding,
    TriggerBindingSpec,
    TriggerTemplate,
    TriggerTemplateSpec,
    VolumeClaimSpec,
    VolumeClaimTemplate,
)
from shipyard.render.tekton.names import LABELS, PIPELINES_SA, STEP_GROUP, TRIGGERS_SA, meta
from shipyard.render.tekton.routes import ROUTES, Route

LISTENER = "shipyard"
# Secrets are created by people (or an external secret store), never rendered into git.
WEBHOOK_SECRET = ("shipyard-github-webhook", "secret")
SECRETS = {
    "registry-auth": "shipyard-registry-auth",
    "github-token": "shipyard-github-token",
    "git-credentials": "shipyard-git-credentials",
    "npm-auth": "shipyard-npm-auth",
    "harbor-auth": "shipyard-harbor-auth",
}
# The fresh volume of `source` is owned by root; fsGroup makes it writable by the steps' group (Shipyard's image
# runs as a non-root user), so the clone does not fail with "permission denied" on a new claim.
POD_TEMPLATE = PodTemplate(security_context=PodSecurityContext(fs_group=STEP_GROUP))


def binding(route: Route) -> TriggerBinding:
    """The route's params, read from the webhook body."""
    return TriggerBinding(
        metadata=meta(f"{route.pipeline}-binding"),
        spec=TriggerBindingSpec(
            params=[BindingParam(name=name, value=f"$(body.{path})") for name, path in route.params.items()]
        ),
    )


def template(route: Route, pipeline: Pipeline) -> TriggerTemplate:
    """A PipelineRun of the route's pipeline: a fresh volume for ``source``, Secrets for every other workspace."""
    workspaces: list[RunWorkspace] = []
    for declared in pipeline.spec.workspaces or []:
        if declared.name == "source":
            claim = VolumeClaimSpec(access_modes=["ReadWriteOnce"], resources={"requests": {"storage": "2Gi"}})
            workspaces.append(RunWorkspace(name="source", volume_claim_template=VolumeClaimTemplate(spec=claim)))
        else:
            workspaces.append(RunWorkspace(name=declared.name, secret=SecretVolume(secret_name=SECRETS[declared.name])))
    run = PipelineRun(
        metadata=PipelineRunMeta(
            generate_name=f"{route.pipeline}-", labels={**LABELS, "shipyard.dev/pipeline": route.pipeline}
        ),
        spec=PipelineRunSpec(
            pipeline_ref=TaskRef(name=route.pipeline),
            params=[Param(name=name, value=f"$(tt.params.{name})") for name in route.params],
            workspaces=workspaces,
            task_run_template=TaskRunTemplate(service_account_name=PIPELINES_SA, pod_template=POD_TEMPLATE),
        ),
    )
    return TriggerTemplate(
        metadata=meta(f"{route.pipeline}-template"),
        spec=TriggerTemplateSpec(
            params=[
                ParamSpec(name=name, description=f"from the event's {path}") for name, path in route.params.items()
            ],
            resourcetemplates=[run],
        ),
    )


def listener() -> EventListener:
    """One trigger per route: the github interceptor (webhook secret, event type), then the route's CEL filter."""
    triggers = []
    for route in ROUTES:
        github = Interceptor(
            name="github",
            ref=InterceptorRef(name="github"),
            params=[
                InterceptorParam(
                    name="secretRef", value={"secretName": WEBHOOK_SECRET[0], "secretKey": WEBHOOK_SECRET[1]}
                ),
                InterceptorParam(name="eventTypes", value=[route.event]),
            ],
        )
        cel = Interceptor(
            name="filter",
            ref=InterceptorRef(name="cel"),
            params=[InterceptorParam(name="filter", value=route.condition.cel())],
        )
        triggers.append(
            EventListenerTrigger(
                name=route.pipeline,
                interceptors=[github, cel],
                bindings=[Ref(ref=f"{route.pipeline}-binding")],
                template=Ref(ref=f"{route.pipeline}-template"),
            )
        )
    return EventListener(
        metadata=meta(LISTENER), spec=EventListenerSpec(service_account_name=TRIGGERS_SA, triggers=triggers)
    )
