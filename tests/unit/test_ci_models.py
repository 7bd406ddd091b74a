"""The Tekton models refuse the classic Triggers mistakes at construction time."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shipyard.k8s.tekton import (
    EventListenerTrigger,
    Interceptor,
    InterceptorParam,
    InterceptorRef,
    Param,
    ParamSpec,
    PipelineRun,
    PipelineRunMeta,
    PipelineRunSpec,
    Ref,
    RunWorkspace,
    TaskRef,
    TaskRunTemplate,
    TriggerTemplateSpec,
)


def _run(value: str) -> PipelineRun:
    return PipelineRun(
        metadata=PipelineRunMeta(generate_name="x-"),
        spec=PipelineRunSpec(
            pipeline_ref=TaskRef(name="x"),
            params=[Param(name="git-url", value=value)],
            workspaces=[RunWorkspace(name="source")],
            task_run_template=TaskRunTemplate(service_account_name="sa"),
        ),
    )


def test_template_params_must_be_tt_params() -> None:
    TriggerTemplateSpec(params=[ParamSpec(name="git-url")], resourcetemplates=[_run("$(tt.params.git-url)")])
    with pytest.raises(ValidationError, match=r"\$\(tt.params.x\), never \$\(params.x\)"):
        TriggerTemplateSpec(params=[ParamSpec(name="git-url")], resourcetemplates=[_run("$(params.git-url)")])
    with pytest.raises(ValidationError, match="not a declared param"):
        TriggerTemplateSpec(params=[], resourcetemplates=[_run("$(tt.params.git-url)")])


def _trigger(events: list[str], cel: str | None, secret: bool = True) -> EventListenerTrigger:
    github_params = [InterceptorParam(name="eventTypes", value=events)]
    if secret:
        github_params.append(InterceptorParam(name="secretRef", value={"secretName": "s", "secretKey": "k"}))
    interceptors = [Interceptor(ref=InterceptorRef(name="github"), params=github_params)]
    if cel is not None:
        interceptors.append(
            Interceptor(ref=InterceptorRef(name="cel"), params=[InterceptorParam(name="filter", value=cel)])
        )
    return EventListenerTrigger(name="t", interceptors=interceptors, bindings=[Ref(ref="b")], template=Ref(ref="t"))


def test_trigger_filters_are_safe() -> None:
    _trigger(["push"], "body.ref == 'refs/heads/main'")
    _trigger(["pull_request"], "body.action in ['opened']")
    with pytest.raises(ValidationError, match=r"filters on body\.ref"):
        _trigger(["pull_request"], "body.action == 'opened' && body.ref == 'x'")
    with pytest.raises(ValidationError, match=r"needs a filter on body\.action"):
        _trigger(["pull_request"], None)
    with pytest.raises(ValidationError, match="secretRef"):
        _trigger(["push"], "true", secret=False)
