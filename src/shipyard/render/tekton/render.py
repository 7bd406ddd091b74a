"""The ``tekton/`` folder of the monorepo: Tasks, Pipelines, the EventListener with its bindings and
templates, and the RBAC the listener needs, all from the platform and the workspace.

The trigger filters are compiled from ``shipyard.render.tekton.routes`` (the table ``ci plan`` evaluates), so what the
cluster runs for an event and what ``ci plan`` says it runs cannot drift apart. Untrusted values (branch names,
URLs from the webhook) reach scripts only through environment variables, never spliced into the script text.
"""

from __future__ import annotations

from shipyard.k8s.base import K8sModel, ObjectMeta
from shipyard.k8s.core import EnvVar, RoleBinding, RoleRef, SecurityContext, ServiceAccount, Subject
from shipyard.k8s.tekton import (
    BindingParam,
    EventListener,
    EventListenerSpec,
    EventListenerTrigger,
    Interceptor,
    InterceptorParam,
    InterceptorRef,
    Matrix,
    Param,
    ParamSpec,
    Pipeline,
    PipelineRun,
    PipelineRunMeta,
    PipelineRunSpec,
    PipelineSpec,
    PipelineTask,
    Ref,
    RunWorkspace,
    SecretVolume,
    Step,
    Task,
    TaskRef,
    TaskResult,
    TaskRunTemplate,
    TaskSpec,
    TriggerBinding,
    TriggerBindingSpec,
    TriggerTemplate,
    TriggerTemplateSpec,
    VolumeClaimSpec,
    VolumeClaimTemplate,
    WhenExpression,
    WorkspaceBinding,
    WorkspaceDeclaration,
)
from shipyard.k8s.yaml import dump, dump_all
from shipyard.render.tekton import images
from shipyard.render.tekton.routes import ROUTES, Route
from shipyard.render.writer import with_header
from shipyard.spec.model import Platform
from shipyard.workspace.model import Workspace

NAMESPACE = "shipyard-ci"
LISTENER = "shipyard"
TRIGGERS_SA = "shipyard-triggers"
PIPELINES_SA = "shipyard-pipelines"
# Secrets are created by people (or an external secret store), never rendered into git.
WEBHOOK_SECRET = ("shipyard-github-webhook", "secret")
SECRETS = {
    "registry-auth": "shipyard-registry-auth",
    "github-token": "shipyard-github-token",
    "git-credentials": "shipyard-git-credentials",
    "npm-auth": "shipyard-npm-auth",
}
# Tekton's default limit of matrix combinations per pipeline task (default-max-matrix-combinations-count).
MAX_MATRIX = 256
# The same ownership header `shipyard render` writes, so its writer owns (and cleans up) these files too.
HEADER = with_header("x.yaml", "")
LABELS = {"app.kubernetes.io/managed-by": "shipyard", "app.kubernetes.io/part-of": "shipyard-ci"}
SRC = "$(workspaces.source.path)"
_DOCKER_CONFIG = (
    'mkdir -p "$DOCKER_CONFIG"\ncp "$(workspaces.registry-auth.path)/.dockerconfigjson" "$DOCKER_CONFIG/config.json"\n'
)


def _meta(name: str) -> ObjectMeta:
    return ObjectMeta(name=name, namespace=NAMESPACE, labels=dict(LABELS))


def _env(**values: str) -> list[EnvVar]:
    return [EnvVar(name=k, value=v) for k, v in values.items()]


def _script(body: str) -> str:
    return "#!/bin/sh\nset -eu\n" + body.strip("\n") + "\n"


def _ws(*names: str, optional: tuple[str, ...] = ()) -> list[WorkspaceDeclaration]:
    return [WorkspaceDeclaration(name=n, optional=True if n in optional else None) for n in names]


class _Tasks:
    """The reusable Tasks; each method returns one."""

    def __init__(self, platform: Platform) -> None:
        self.image = platform.shipyard_image
        threshold = platform.registry.scan.severity_threshold
        self.threshold = threshold
        self.prefix = f"{platform.registry.host}/{platform.registry.projects.services}"

    def _shipyard_step(self, name: str, body: str, **env: str) -> Step:
        return Step(name=name, image=self.image, working_dir=SRC, env=_env(**env) or None, script=_script(body))

    def clone(self) -> Task:
        body = """
# Full history and tags: versions and affected projects are computed from them.
git init -q .
git remote remove origin 2>/dev/null || true
git remote add origin "$URL"
git fetch -q --tags origin '+refs/heads/*:refs/remotes/origin/*'
git fetch -q origin "$REVISION"
case "$REF" in
  refs/heads/*) git checkout -q --force -B "${REF#refs/heads/}" FETCH_HEAD ;;
  *) git checkout -q --force --detach FETCH_HEAD ;;
esac
printf %s "$(git rev-parse HEAD)" > "$(results.commit.path)"
"""
        return Task(
            metadata=_meta("shipyard-clone"),
            spec=TaskSpec(
                description="Check out the monorepo with its history and tags, on its branch when it has one.",
                params=[
                    ParamSpec(name="url"),
                    ParamSpec(name="revision"),
                    ParamSpec(name="ref", default="", description="refs/heads/<branch> to check out as a branch"),
                ],
                workspaces=_ws("source"),
                results=[TaskResult(name="commit", description="the commit checked out")],
                steps=[
                    self._shipyard_step(
                        "clone", body, URL="$(params.url)", REVISION="$(params.revision)", REF="$(params.ref)"
                    )
                ],
            ),
        )

    def version(self) -> Task:
        body = """
mkdir -p .shipyard
if [ -n "$PR_NUMBER" ]; then
  shipyard version --pr "$PR_NUMBER" --json > .shipyard/version.json
else
  shipyard version --json > .shipyard/version.json
fi
python3 -c 'import json, sys; sys.stdout.write(json.load(open(sys.argv[1]))["version"])' \\
  .shipyard/version.json > "$(results.version.path)"
"""
        return Task(
            metadata=_meta("shipyard-version"),
            spec=TaskSpec(
                description="Compute the version of this commit (pr-<n>-<sha7>, alpha, beta or stable).",
                params=[ParamSpec(name="pr-number", default="", description="set for pull request builds")],
                workspaces=_ws("source"),
                results=[TaskResult(name="version")],
                steps=[self._shipyard_step("version", body, PR_NUMBER="$(params.pr-number)")],
            ),
        )

    def affected(self) -> Task:
        body = """
mkdir -p .shipyard
BASE_REV="${BASE:-$FALLBACK_BASE}"
case "$BASE_REV" in
  ""|0000000000000000000000000000000000000000)
    # A new branch has no "before": compare with the first commit, so everything counts as changed.
    BASE_REV="$(git rev-list --max-parents=0 HEAD | tail -n 1)" ;;
esac
shipyard affected --base "$BASE_REV" --head HEAD --format matrix > .shipyard/affected.json
# Indexes, not names, go into the result: it stays small for monorepos of thousands of services.
shipyard ci batches .shipyard/affected.json --max-batches "$MAX_BATCHES" \\
  --output .shipyard/batches.json --result "$(results.batches.path)"
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --ignore-scripts; fi
"""
        return Task(
            metadata=_meta("shipyard-affected"),
            spec=TaskSpec(
                description="List the affected services and split them into matrix batches; install dependencies.",
                params=[
                    ParamSpec(name="base", description="the revision to compare with"),
                    ParamSpec(name="fallback-base", default="", description="used when base is empty"),
                    ParamSpec(name="max-batches", default=str(MAX_MATRIX)),
                ],
                workspaces=_ws("source"),
                results=[TaskResult(name="batches", type="array", description="batch indexes for the matrix")],
                steps=[
                    self._shipyard_step(
                        "affected",
                        body,
                        BASE="$(params.base)",
                        FALLBACK_BASE="$(params.fallback-base)",
                        MAX_BATCHES="$(params.max-batches)",
                    )
                ],
            ),
        )

    def build_batch(self) -> Task:
        batch_file = '.shipyard/batch-"$BATCH".txt'
        select = f'shipyard ci batch .shipyard/batches.json --index "$BATCH" > {batch_file}\ncat {batch_file}\n'
        test = f"""
for service in $(cat {batch_file}); do
  if [ -f "services/$service/package.json" ]; then
    npm run --prefix "services/$service" --if-present test
  elif [ -d "services/$service/tests" ]; then
    python3 -m pytest -q "services/$service/tests"
  fi
done
"""
        build = f"""
export REGISTRY_AUTH_FILE="$(workspaces.registry-auth.path)/.dockerconfigjson"
mkdir -p .shipyard/digests
for service in $(cat {batch_file}); do
  buildah --storage-driver=vfs bud --isolation=chroot --format=oci --layers \\
    -f "services/$service/Dockerfile" -t "$IMAGE_PREFIX/$service:$VERSION" .
  buildah --storage-driver=vfs push --digestfile ".shipyard/digests/$service" "$IMAGE_PREFIX/$service:$VERSION"
done
"""
        scan = (
            _DOCKER_CONFIG
            + f"""mkdir -p .shipyard/scan
for service in $(cat {batch_file}); do
  trivy image --quiet --format json --output ".shipyard/scan/$service.json" \\
    "$IMAGE_PREFIX/$service@$(cat ".shipyard/digests/$service")"
done
"""
        )
        gate = f"""
if [ "$THRESHOLD" = none ]; then echo "the scan gate is off (severityThreshold: none)"; exit 0; fi
set --
for service in $(cat {batch_file}); do set -- "$@" ".shipyard/scan/$service.json"; done
if [ "$#" -eq 0 ]; then exit 0; fi
if [ -f scan-allowlist.yaml ]; then set -- "$@" --allowlist scan-allowlist.yaml; fi
shipyard scan gate "$@" --threshold "$THRESHOLD"
"""
        common = {"BATCH": "$(params.batch)"}
        image_env = {**common, "IMAGE_PREFIX": "$(params.image-prefix)", "VERSION": "$(params.version)"}
        return Task(
            metadata=_meta("shipyard-build-batch"),
            spec=TaskSpec(
                description="Test, build (buildah), push, scan (Trivy) and gate one batch of affected services.",
                params=[
                    ParamSpec(name="batch", description="index of the batch in .shipyard/batches.json"),
                    ParamSpec(name="version", description="the image tag to build"),
                    ParamSpec(name="image-prefix", default=self.prefix),
                    ParamSpec(name="scan-threshold", default=self.threshold),
                ],
                workspaces=_ws("source", "registry-auth"),
                steps=[
                    self._shipyard_step("select", select, **common),
                    self._shipyard_step("test", test, **common),
                    Step(
                        name="build",
                        image=images.BUILDAH,
                        working_dir=SRC,
                        env=_env(**image_env),
                        script=_script(build),
                        # buildah inside a pod needs it, as in Tekton's catalog buildah task.
                        security_context=SecurityContext(privileged=True),
                    ),
                    Step(
                        name="scan",
                        image=images.TRIVY,
                        working_dir=SRC,
                        env=_env(**image_env, DOCKER_CONFIG="/tekton/home/.docker"),
                        script=_script(scan),
                    ),
                    self._shipyard_step("gate", gate, **common, THRESHOLD="$(params.scan-threshold)"),
                ],
            ),
        )

    def release_tags(self) -> Task:
        body = (
            _DOCKER_CONFIG
            + """# Unaffected services keep their image: it is retagged by manifest, so a version names every service.
for service in $(shipyard ci services --unaffected .shipyard/affected.json); do
  shipyard image tag "$IMAGE_PREFIX/$service:$FROM_TAG" "$VERSION"
done
set --
for service in $(shipyard ci services); do set -- "$@" "$IMAGE_PREFIX/$service:$VERSION"; done
shipyard image release "$@" --version "$VERSION"
"""
        )
        return Task(
            metadata=_meta("shipyard-release-tags"),
            spec=TaskSpec(
                description="Give every service the version's tags: built ones by digest, the rest by retagging.",
                params=[
                    ParamSpec(name="version"),
                    ParamSpec(name="from-tag", description="where unaffected services' images come from"),
                    ParamSpec(name="image-prefix", default=self.prefix),
                ],
                workspaces=_ws("source", "registry-auth"),
                steps=[
                    self._shipyard_step(
                        "tag",
                        body,
                        VERSION="$(params.version)",
                        FROM_TAG="$(params.from-tag)",
                        IMAGE_PREFIX="$(params.image-prefix)",
                        DOCKER_CONFIG="/tekton/home/.docker",
                    )
                ],
            ),
        )

    def stable_source(self) -> Task:
        body = """
mkdir -p .shipyard
# The decision and its reason (e.g. the files that changed since the beta) go to the log and the workspace.
shipyard ci stable-source --version "$VERSION" --json \\
  --mode-file "$(results.mode.path)" --source-file "$(results.source-tag.path)" > .shipyard/stable-source.json
cat .shipyard/stable-source.json
"""
        return Task(
            metadata=_meta("shipyard-stable-source"),
            spec=TaskSpec(
                description="Decide whether main's tree is the last beta's: then promote its digests, else build.",
                params=[ParamSpec(name="version")],
                workspaces=_ws("source"),
                results=[
                    TaskResult(name="mode", description="retag or build"),
                    TaskResult(name="source-tag", description="the beta whose digests become stable"),
                ],
                steps=[self._shipyard_step("decide", body, VERSION="$(params.version)")],
            ),
        )

    def promote_tags(self) -> Task:
        body = (
            _DOCKER_CONFIG
            + """# Build once, promote by digest: the images that passed as the last beta get the stable tags.
set --
for service in $(shipyard ci services); do set -- "$@" "$IMAGE_PREFIX/$service:$SOURCE_TAG"; done
shipyard image release "$@" --version "$VERSION"
"""
        )
        return Task(
            metadata=_meta("shipyard-promote-tags"),
            spec=TaskSpec(
                description="Add a version's tags to the digests of an earlier version (no rebuild).",
                params=[ParamSpec(name="version"), ParamSpec(name="source-tag"), ParamSpec(name="image-prefix")],
                workspaces=_ws("source", "registry-auth"),
                steps=[
                    self._shipyard_step(
                        "promote",
                        body,
                        VERSION="$(params.version)",
                        SOURCE_TAG="$(params.source-tag)",
                        IMAGE_PREFIX="$(params.image-prefix)",
                        DOCKER_CONFIG="/tekton/home/.docker",
                    )
                ],
            ),
        )

    def git_tag(self) -> Task:
        body = """
git config --global credential.helper "store --file=$(workspaces.git-credentials.path)/.git-credentials"
shipyard release tag --push origin
"""
        return Task(
            metadata=_meta("shipyard-git-tag"),
            spec=TaskSpec(
                description="Tag the commit with its version and push the tag (safe against concurrent runs).",
                workspaces=_ws("source", "git-credentials"),
                steps=[self._shipyard_step("tag", body)],
            ),
        )

    def packages_publish(self) -> Task:
        body = """
export NPM_CONFIG_USERCONFIG="$(workspaces.npm-auth.path)/.npmrc"
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --ignore-scripts; fi
shipyard packages publish
"""
        return Task(
            metadata=_meta("shipyard-packages-publish"),
            spec=TaskSpec(
                description="Publish the affected npm packages with the release's version and dist-tag.",
                workspaces=_ws("source", "npm-auth"),
                steps=[self._shipyard_step("publish", body)],
            ),
        )

    def preview(self) -> Task:
        body = """
git config --global credential.helper "store --file=$(workspaces.git-credentials.path)/.git-credentials"
if [ "$ACTION" = up ]; then
  set -- --pr "$PR_NUMBER" --sha "$REVISION"
  # Only the affected services run in the preview (the matrix file is a JSON list of names).
  if [ -f .shipyard/affected.json ]; then
    services=$(tr -d '[]" \n' < .shipyard/affected.json)
    if [ -n "$services" ]; then set -- "$@" --services "$services"; fi
  fi
  # The URLs go into the PR's Shipyard comment (its preview section) when a GitHub token is given.
  if [ "$(workspaces.github-token.bound)" = true ] && [ -n "$REPO" ]; then
    set -- "$@" --comment --repo "$REPO" --token-file "$(workspaces.github-token.path)/token"
  fi
  shipyard preview up "$@"
else
  shipyard preview down --pr "$PR_NUMBER"
fi
"""
        return Task(
            metadata=_meta("shipyard-preview"),
            spec=TaskSpec(
                description="Create, update or remove a pull request's preview environment in the config repo.",
                params=[
                    ParamSpec(name="action", description="up or down"),
                    ParamSpec(name="pr-number"),
                    ParamSpec(
                        name="revision", default="", description="the commit built, tagged pr-<n>-<sha7> (for up)"
                    ),
                    ParamSpec(
                        name="repo-full-name", default="", description="owner/name: comment the URLs on the PR (up)"
                    ),
                ],
                workspaces=_ws("source", "git-credentials", "github-token", optional=("github-token",)),
                steps=[
                    self._shipyard_step(
                        "preview",
                        body,
                        ACTION="$(params.action)",
                        PR_NUMBER="$(params.pr-number)",
                        REVISION="$(params.revision)",
                        REPO="$(params.repo-full-name)",
                    )
                ],
            ),
        )

    def pr_feedback(self) -> Task:
        body = """
set -- --repo "$REPO" --pr "$PR_NUMBER" --token-file "$(workspaces.github-token.path)/token"
set -- "$@" --pipeline-status "$PIPELINE_STATUS" --threshold "$THRESHOLD"
for report in .shipyard/scan/*.json; do
  if [ -f "$report" ]; then set -- "$@" --scan "$report"; fi
done
if [ -f .shipyard/affected.json ]; then set -- "$@" --affected .shipyard/affected.json; fi
if [ -f scan-allowlist.yaml ]; then set -- "$@" --allowlist scan-allowlist.yaml; fi
shipyard pr comment "$@"
"""
        return Task(
            metadata=_meta("shipyard-pr-feedback"),
            spec=TaskSpec(
                description="Post or update the pull request's Shipyard comment; request changes when the gate fails.",
                params=[
                    ParamSpec(name="repo-full-name"),
                    ParamSpec(name="pr-number"),
                    ParamSpec(name="pipeline-status"),
                    ParamSpec(name="scan-threshold", default=self.threshold),
                ],
                workspaces=_ws("source", "github-token"),
                steps=[
                    self._shipyard_step(
                        "comment",
                        body,
                        REPO="$(params.repo-full-name)",
                        PR_NUMBER="$(params.pr-number)",
                        PIPELINE_STATUS="$(params.pipeline-status)",
                        THRESHOLD="$(params.scan-threshold)",
                    )
                ],
            ),
        )

    def all(self) -> list[Task]:
        return [
            self.clone(),
            self.version(),
            self.affected(),
            self.build_batch(),
            self.release_tags(),
            self.stable_source(),
            self.promote_tags(),
            self.git_tag(),
            self.packages_publish(),
            self.preview(),
            self.pr_feedback(),
        ]


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


def _build_tasks(base: str, fallback: str, after: list[str], when: list[WhenExpression] | None) -> list[PipelineTask]:
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
            {"version": "$(tasks.version.results.version)", "image-prefix": "$(params.image-prefix)"},
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


def _pipeline(route: Route, description: str, prefix: str, tasks: list[PipelineTask], **extra: str) -> Pipeline:
    used = {w.workspace for t in tasks for w in t.workspaces or []}
    params = [ParamSpec(name=name) for name in route.params]
    if any(p.value == "$(params.image-prefix)" for t in tasks for p in t.params or []):
        params.append(ParamSpec(name="image-prefix", default=prefix, description="registry path of service images"))
    params += [ParamSpec(name=k, default=v) for k, v in extra.items()]
    finally_tasks = [t for t in tasks if t.name == "feedback"]
    main = [t for t in tasks if t.name != "feedback"]
    return Pipeline(
        metadata=_meta(route.pipeline),
        spec=PipelineSpec(
            description=description,
            params=params,
            workspaces=_ws(*sorted(used)),
            tasks=main,
            finally_=finally_tasks or None,
        ),
    )


def _pipelines(platform: Platform) -> list[Pipeline]:
    prefix = f"{platform.registry.host}/{platform.registry.projects.services}"
    routes = {r.pipeline: r for r in ROUTES}
    version_pr = _pt("version", "shipyard-version", {"pr-number": "$(params.pr-number)"}, run_after=["clone"])
    version = _pt("version", "shipyard-version", run_after=["clone"])
    build_when = [WhenExpression(input="$(tasks.stable-source.results.mode)", operator="in", values=["build"])]
    retag_when = [WhenExpression(input="$(tasks.stable-source.results.mode)", operator="in", values=["retag"])]
    git_tag = _pt("git-tag", "shipyard-git-tag", workspaces=("source", "git-credentials"))
    pr_tasks = [
        _pt("clone", "shipyard-clone", {"url": "$(params.git-url)", "revision": "$(params.git-revision)"}),
        version_pr,
        *_build_tasks("origin/$(params.base-ref)", "", ["clone"], None),
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


def _binding(route: Route) -> TriggerBinding:
    return TriggerBinding(
        metadata=_meta(f"{route.pipeline}-binding"),
        spec=TriggerBindingSpec(
            params=[BindingParam(name=name, value=f"$(body.{path})") for name, path in route.params.items()]
        ),
    )


def _template(route: Route, pipeline: Pipeline) -> TriggerTemplate:
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
            task_run_template=TaskRunTemplate(service_account_name=PIPELINES_SA),
        ),
    )
    return TriggerTemplate(
        metadata=_meta(f"{route.pipeline}-template"),
        spec=TriggerTemplateSpec(
            params=[
                ParamSpec(name=name, description=f"from the event's {path}") for name, path in route.params.items()
            ],
            resourcetemplates=[run],
        ),
    )


def _listener() -> EventListener:
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
        metadata=_meta(LISTENER), spec=EventListenerSpec(service_account_name=TRIGGERS_SA, triggers=triggers)
    )


def _rbac() -> list[K8sModel]:
    subject = [Subject(name=TRIGGERS_SA, namespace=NAMESPACE)]
    cluster_meta = ObjectMeta(name=f"{NAMESPACE}-{TRIGGERS_SA}", labels=dict(LABELS))
    return [
        ServiceAccount(metadata=_meta(TRIGGERS_SA)),
        ServiceAccount(metadata=_meta(PIPELINES_SA)),
        # The ClusterRoles Tekton Triggers installs for EventListeners: read triggers, create PipelineRuns.
        RoleBinding(
            metadata=_meta(f"{TRIGGERS_SA}-eventlistener"),
            role_ref=RoleRef(kind="ClusterRole", name="tekton-triggers-eventlistener-roles"),
            subjects=subject,
        ),
        RoleBinding(
            kind="ClusterRoleBinding",
            metadata=cluster_meta,
            role_ref=RoleRef(kind="ClusterRole", name="tekton-triggers-eventlistener-clusterroles"),
            subjects=subject,
        ),
    ]


def render_tekton(platform: Platform, workspace: Workspace) -> dict[str, str]:
    """The files of ``tekton/`` (relative path -> text), deterministic for the same platform.

    The workspace is not read at render time: which services a run builds is decided in the run, by
    ``shipyard affected``, so adding a service never needs a re-render of the pipelines.
    """
    del workspace  # the same pipelines serve any set of services; see the docstring
    files: dict[str, str] = {}
    for task in _Tasks(platform).all():
        files[f"tekton/tasks/{task.metadata.name}.yaml"] = HEADER + dump(task.to_dict())
    pipelines = {p.metadata.name: p for p in _pipelines(platform)}
    for name, pipeline in pipelines.items():
        files[f"tekton/pipelines/{name}.yaml"] = HEADER + dump(pipeline.to_dict())
    for route in ROUTES:
        docs = [_binding(route).to_dict(), _template(route, pipelines[route.pipeline]).to_dict()]
        files[f"tekton/triggers/{route.pipeline}.yaml"] = HEADER + dump_all(docs)
    files["tekton/triggers/event-listener.yaml"] = HEADER + dump(_listener().to_dict())
    files["tekton/rbac.yaml"] = HEADER + dump_all(obj.to_dict() for obj in _rbac())
    resources = sorted(path.removeprefix("tekton/") for path in files)
    files["tekton/kustomization.yaml"] = HEADER + dump(
        {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": resources}
    )
    return dict(sorted(files.items()))
