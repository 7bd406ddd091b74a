"""The Pipelines, one per route of ``shipyard.render.tekton.routes``: pull request validation (and its secret-free
twin for forks), preview teardown, alpha, beta and stable builds, and package publishing, made of the Tasks of
``tasks``."""

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
from shipyard.render.common import config_repo_url
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


def _clone() -> PipelineTask:
    params = {"url": "$(params.git-url)", "revision": "$(params.git-revision)", "ref": "$(params.git-ref)"}
    return _pt("clone", "shipyard-clone", params, ("source", "git-credentials"))


def _affected(base: str, fallback: str, after: list[str], when: list[WhenExpression] | None) -> PipelineTask:
    return _pt("affected", "shipyard-affected", {"base": base, "fallback-base": fallback}, run_after=after, when=when)


def _build(when: list[WhenExpression] | None = None, push: bool = True, pr: str = "") -> PipelineTask:
    params = {
        "version": "$(tasks.version.results.version)",
        "image-prefix": "$(params.image-prefix)",
        # Where each image comes from, as OCI annotations: Kargo shows them on its Freight.
        "revision": "$(tasks.clone.results.commit)",
        "source": "$(params.git-url)",
        "pr-number": pr,
    }
    if not push:
        params["push"] = "false"
    return _pt(
        "build",
        "shipyard-build-batch",
        params,
        ("source", "registry-auth") if push else ("source",),
        run_after=["affected", "version"],
        when=when,
        matrix={"batch": "$(tasks.affected.results.batches[*])"},
    )


def _validate() -> PipelineTask:
    return _pt(
        "validate",
        "shipyard-validate",
        {"head-ref": "$(params.head-ref)", "base-ref": "$(params.base-ref)"},
        run_after=["affected"],
    )


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


def _git_tag(after: list[str]) -> PipelineTask:
    return _pt("git-tag", "shipyard-git-tag", workspaces=("source", "git-credentials"), run_after=after)


def _freight() -> PipelineTask:
    # After the git tag: the version is then fixed, and the freight names it.
    return _pt(
        "freight",
        "shipyard-freight",
        {
            "version": "$(tasks.version.results.version)",
            "source-commit": "$(tasks.clone.results.commit)",
            "config-repo": "$(params.config-repo)",
        },
        ("source", "registry-auth", "git-credentials"),
        run_after=["git-tag"],
    )


def _pipeline(route: Route, description: str, defaults: dict[str, ParamSpec], tasks: list[PipelineTask]) -> Pipeline:
    used = {w.workspace for t in tasks for w in t.workspaces or []}
    params = [ParamSpec(name=name) for name in route.params]
    values = {p.value for t in tasks for p in t.params or [] if isinstance(p.value, str)}
    params += [spec for name, spec in defaults.items() if f"$(params.{name})" in values]
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
    """Every route's Pipeline; a route's params (from the webhook) are its Pipeline's params.

    Params the webhook does not carry (where images go, the config repo) are Pipeline params with the spec's
    values as defaults.
    """
    defaults = {
        "image-prefix": ParamSpec(
            name="image-prefix", default=image_prefix(platform), description="registry path of service images"
        ),
        "config-repo": ParamSpec(
            name="config-repo", default=config_repo_url(platform), description="the GitOps config repo (URL)"
        ),
    }
    routes = {r.pipeline: r for r in ROUTES}
    version_pr = _pt("version", "shipyard-version", {"pr-number": "$(params.pr-number)"}, run_after=["clone"])
    version = _pt("version", "shipyard-version", run_after=["clone"])
    build_when = [WhenExpression(input="$(tasks.stable-source.results.mode)", operator="in", values=["build"])]
    retag_when = [WhenExpression(input="$(tasks.stable-source.results.mode)", operator="in", values=["retag"])]
    pr_clone = _pt(
        "clone",
        "shipyard-clone",
        {"url": "$(params.git-url)", "revision": "$(params.git-revision)"},
        ("source", "git-credentials"),
    )
    pr_tasks = [
        pr_clone,
        version_pr,
        _affected("origin/$(params.base-ref)", "", ["clone"], None),
        _validate(),
        _build(pr="$(params.pr-number)"),
        _pt(
            "preview",
            "shipyard-preview",
            {
                "action": "up",
                "pr-number": "$(params.pr-number)",
                "revision": "$(tasks.clone.results.commit)",
                "repo-full-name": "$(params.repo-full-name)",
                "config-repo": "$(params.config-repo)",
            },
            ("source", "git-credentials", "github-token"),
            run_after=["validate", "build"],
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
    # A fork's code runs without a single secret: no credentials to clone with, nothing pushed, no preview,
    # no comment (that needs a token); its checks and tests still run, and its images are still built.
    fork_tasks = [
        pr_clone.model_copy(update={"workspaces": [WorkspaceBinding(name="source", workspace="source")]}),
        version_pr,
        _affected("origin/$(params.base-ref)", "", ["clone"], None),
        _validate(),
        _build(push=False),
    ]
    alpha = [
        _clone(),
        version,
        _affected("$(params.git-before)", "", ["clone"], None),
        _build(),
        _release_tags("latest-alpha"),
        _git_tag(["release-tags"]),
        _freight(),
        # develop is where every change to shipyard.yaml and every new service arrives first.
        _pt(
            "platform",
            "shipyard-platform",
            {"config-repo": "$(params.config-repo)"},
            ("source", "git-credentials", *(("harbor-auth",) if platform.registry.kind == "harbor" else ())),
            run_after=["freight"],
        ),
    ]
    beta = [
        _clone(),
        version,
        _affected("$(params.git-before)", "", ["clone"], None),
        _build(),
        _release_tags("latest-beta"),
        _git_tag(["release-tags"]),
        _freight(),
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
        _affected("$(tasks.stable-source.results.source-tag)", "$(params.git-before)", ["stable-source"], build_when),
        _build(build_when),
        _release_tags("latest-beta", build_when),
        _git_tag(["promote", "release-tags"]),
        _freight(),
    ]
    packages = [
        _clone(),
        version,
        _pt(
            "publish",
            "shipyard-packages-publish",
            {"version": "$(tasks.version.results.version)"},
            ("source", "npm-auth"),
        ),
    ]
    teardown = [
        _pt(
            "clone",
            "shipyard-clone",
            {"url": "$(params.git-url)", "revision": "HEAD"},
            ("source", "git-credentials"),
        ),
        _pt(
            "preview",
            "shipyard-preview",
            {"action": "down", "pr-number": "$(params.pr-number)", "config-repo": "$(params.config-repo)"},
            ("source", "git-credentials"),
            run_after=["clone"],
        ),
    ]
    return [
        _pipeline(
            routes["pr-validation"],
            "Validate a pull request: check, lint, test, build, scan, preview, feedback.",
            defaults,
            pr_tasks,
        ),
        _pipeline(
            routes["pr-validation-fork"],
            "Validate a fork's pull request without secrets: check, lint, test and build; nothing is pushed.",
            defaults,
            fork_tasks,
        ),
        _pipeline(routes["preview-teardown"], "Remove a closed pull request's preview.", defaults, teardown),
        _pipeline(
            routes["alpha-build"],
            "Build the affected services as an alpha from develop, tag it, record its freight, render the config.",
            defaults,
            alpha,
        ),
        _pipeline(
            routes["beta-build"],
            "Build a beta from a release or hotfix branch, tag it and record its freight.",
            defaults,
            beta,
        ),
        _pipeline(
            routes["stable-release"],
            "Release from main: promote the last beta's digests (or build), tag it and record its freight.",
            defaults,
            stable,
        ),
        _pipeline(
            routes["package-build"],
            "Build, test and publish the npm packages of a release line at its version.",
            defaults,
            packages,
        ),
    ]
