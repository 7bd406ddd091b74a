"""The Pipelines, one per route of ``shipyard.render.tekton.routes``: pull request validation, preview
teardown, alpha, beta and stable builds, and package publishing, made of the Tasks of ``tasks``."""

from __future__ import annotations

from shipyard.k8s.tekton import (
    Matrix,
    Param,
    ParamSpec,
    Pipeline,
    PipelineSpec,
    PipelineTask,
    TaskRef,
    WhenExpression,
    WorkspaceBinding,
)
from shipyard.render.tekton.names import declare_workspaces, image_prefix, meta
from shipyard.render.tekton.routes import ROUTES, Route
from shipyard.spec.model import Platform


def _pt(
    name: str,
    task: str,
    params: dict[str, str] | None = None,
    workspaces: tuple[str, ...] = ("source",),
    run_after: list[str] | None = None,
    when: list[WhenExpression] | None = None,
    matrix: dict[str, str] | None = None,
) -> PipelineTask:
    return PipelineTask(
        name=name,
        task_ref=TaskRef(name=task),
        run_after=run_after,
        when=when,
        params=[Param(name=k, value=v) for k, v in (params or {}).items()] or None,
        matrix=Matrix(params=[Param(name=k, value=v) for k, v in matrix.items()]) if matrix else None,
        workspaces=[WorkspaceBinding(name=w, workspace=w) for w in workspaces],
    )


def _clone(with_ref: bool = True) -> PipelineTask:
    params = {"url": "$(params.git-url)", "revision": "$(params.git-revision)"}
    if with_ref:
        params["ref"] = "$(params.git-ref)"
    return _pt("clone", "shipyard-clone", params)


def _build_tasks(
    base: str, fallback: str, after: list[str], when: list[WhenExpression] | None, pr: str = ""
) -> list[PipelineTask]:
    return [
        _pt(
            "affected",
            "shipyard-affected",
            {"base": base, "fallback-base": fallback},
            run_after=after,
            when=when,
        ),
        _pt(
            "build",
            "shipyard-build-batch",
            {
                "version": "$(tasks.version.results.version)",
                "image-prefix": "$(params.image-prefix)",
                # Where each image comes from, as OCI annotations: Kargo shows them on its Freight.
                "revision": "$(tasks.clone.results.commit)",
                "source": "$(params.git-url)",
                "pr-number": pr,
            },
            ("source", "registry-auth"),
            run_after=["affected", "version"],
            when=when,
            matrix={"batch": "$(tasks.affected.results.batches[*])"},
        ),
    ]


def _release_tags(from_tag: str, when: list[WhenExpression] | None = None) -> PipelineTask:
    return _pt(
        "release-tags",
        "shipyard-release-tags",
        {
            "version": "$(tasks.version.results.version)",
            "from-tag": from_tag,
            "image-prefix": "$(params.image-prefix)",
        },
        ("source", "registry-auth"),
        run_after=["build"],
        when=when,
    )


def _pipeline(route: Route, description: str, prefix: str, tasks: list[PipelineTask]) -> Pipeline:
    used = {w.workspace for t in tasks for w in t.workspaces or []}
    params = [ParamSpec(name=name) for name in route.params]
    if any(p.value == "$(params.image-prefix)" for t in tasks for p in t.params or []):
        params.append(ParamSpec(name="image-prefix", default=prefix, description="registry path of service images"))
    finally_tasks = [t for t in tasks if t.name == "feedback"]
    main = [t for t in tasks if t.name != "feedback"]
    return Pipeline(
        metadata=meta(route.pipeline),
        spec=PipelineSpec(
            description=description,
            params=params,
            workspaces=declare_workspaces(*sorted(used)),
            tasks=main,
            finally_=finally_tasks or None,
        ),
    )


def render_pipelines(platform: Platform) -> list[Pipeline]:
    """Every route's Pipeline; a route's params (from the webhook) are its Pipeline's params."""
    prefix = image_prefix(platform)
    routes = {r.pipeline: r for r in ROUTES}
    version_pr = _pt("version", "shipyard-version", {"pr-number": "$(params.pr-number)"}, run_after=["clone"])
    version = _pt("version", "shipyard-version", run_after=["clone"])
    build_when = [WhenExpression(input="$(tasks.stable-source.results.mode)", operator="in", values=["build"])]
    retag_when = [WhenExpression(input="$(tasks.stable-source.results.mode)", operator="in", values=["retag"])]
    git_tag = _pt("git-tag", "shipyard-git-tag", workspaces=("source", "git-credentials"))
    pr_tasks = [
        _pt("clone", "shipyard-clone", {"url": "$(params.git-url)", "revision": "$(params.git-revision)"}),
        version_pr,
        *_build_tasks("origin/$(params.base-ref)", "", ["clone"], None, pr="$(params.pr-number)"),
        _pt(
            "preview",
            "shipyard-preview",
            {
                "action": "up",
                "pr-number": "$(params.pr-number)",
                "revision": "$(tasks.clone.results.commit)",
                "repo-full-name": "$(params.repo-full-name)",
            },
            ("source", "git-credentials", "github-token"),
            run_after=["build"],
        ),
        _pt(
            "feedback",
            "shipyard-pr-feedback",
            {
                "repo-full-name": "$(params.repo-full-name)",
                "pr-number": "$(params.pr-number)",
                "pipeline-status": "$(tasks.status)",
            },
            ("source", "github-token"),
        ),
    ]
    alpha = [
        _clone(),
        version,
        *_build_tasks("$(params.git-before)", "", ["clone"], None),
        _release_tags("latest-alpha"),
    ]
    beta_tag = git_tag.model_copy(update={"run_after": ["release-tags"]})
    beta = [
        _clone(),
        version,
        *_build_tasks("$(params.git-before)", "", ["clone"], None),
        _release_tags("latest-beta"),
        beta_tag,
    ]
    stable = [
        _clone(),
        version,
        _pt(
            "stable-source",
            "shipyard-stable-source",
            {"version": "$(tasks.version.results.version)"},
            run_after=["version"],
        ),
        _pt(
            "promote",
            "shipyard-promote-tags",
            {
                "version": "$(tasks.version.results.version)",
                "source-tag": "$(tasks.stable-source.results.source-tag)",
                "image-prefix": "$(params.image-prefix)",
            },
            ("source", "registry-auth"),
            when=retag_when,
        ),
        *_build_tasks(
            "$(tasks.stable-source.results.source-tag)", "$(params.git-before)", ["stable-source"], build_when
        ),
        _release_tags("latest-beta", build_when),
        git_tag.model_copy(update={"run_after": ["promote", "release-tags"]}),
    ]
    packages = [
        _clone(),
        _pt("publish", "shipyard-packages-publish", workspaces=("source", "npm-auth"), run_after=["clone"]),
    ]
    teardown = [
        _pt("clone", "shipyard-clone", {"url": "$(params.git-url)", "revision": "HEAD"}),
        _pt(
            "preview",
            "shipyard-preview",
            {"action": "down", "pr-number": "$(params.pr-number)"},
            ("source", "git-credentials"),
            run_after=["clone"],
        ),
    ]
    return [
        _pipeline(
            routes["pr-validation"], "Validate a pull request: test, build, scan, preview, feedback.", prefix, pr_tasks
        ),
        _pipeline(routes["preview-teardown"], "Remove a closed pull request's preview.", prefix, teardown),
        _pipeline(routes["alpha-build"], "Build the affected services as an alpha from develop.", prefix, alpha),
        _pipeline(routes["beta-build"], "Build a beta from a release or hotfix branch and tag it.", prefix, beta),
        _pipeline(
            routes["stable-release"], "Release from main: promote the last beta's digests, or build.", prefix, stable
        ),
        _pipeline(routes["package-build"], "Publish the changed npm packages of a release line.", prefix, packages),
    ]
