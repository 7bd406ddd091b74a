"""The reusable Tasks the Pipelines are made of.

Each step's ``script:`` is a packaged file, ``scripts/<task>-<step>.sh``, written as POSIX sh. Tekton's own
substitutions (``$(params.x)``, ``$(results.x.path)``, ``$(workspaces.x.path)``) are never spliced into a
script: they reach it through the step's ``env:``. Untrusted values (branch names, URLs from the webhook)
arrive as params, so they too reach scripts only as environment variables, never as script text.
"""

from __future__ import annotations

from importlib import resources

from shipyard.httpcalls import is_loopback
from shipyard.k8s.core import EnvVar, SecurityContext
from shipyard.k8s.tekton import ParamSpec, Step, Task, TaskResult, TaskSpec
from shipyard.render.common import config_repo_url
from shipyard.render.tekton import images
from shipyard.render.tekton.names import declare_workspaces, image_prefix, meta
from shipyard.spec.model import Platform

# Tekton's default limit of matrix combinations per pipeline task (default-max-matrix-combinations-count).
MAX_MATRIX = 256
SRC = "$(workspaces.source.path)"
_SCRIPTS = "scripts"
# Shipyard and buildah read registry credentials from $REGISTRY_AUTH_FILE: the Secret's own file, never a copy.
_REGISTRY_AUTH = {"REGISTRY_AUTH_FILE": "$(workspaces.registry-auth.path)/.dockerconfigjson"}
_GIT_CREDENTIALS = {"WORKSPACE_GIT_CREDENTIALS_PATH": "$(workspaces.git-credentials.path)"}
_OPTIONAL_GIT_CREDENTIALS = {
    **_GIT_CREDENTIALS,
    "WORKSPACE_GIT_CREDENTIALS_BOUND": "$(workspaces.git-credentials.bound)",
}
# The config repo's commands (preview, freight add) read it from here: the pipeline's config-repo param.
_CONFIG_REPO = {"SHIPYARD_CONFIG_REPO": "$(params.config-repo)"}


def script(task: str, step: str) -> str:
    """The packaged script of ``step`` of Task ``shipyard-<task>``."""
    return resources.files("shipyard.render.tekton").joinpath(_SCRIPTS, f"{task}-{step}.sh").read_text(encoding="utf-8")


def _env(values: dict[str, str]) -> list[EnvVar] | None:
    return [EnvVar(name=k, value=v) for k, v in values.items()] or None


class _Tasks:
    """The reusable Tasks; each method returns one."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.image = platform.shipyard_image
        self.threshold = platform.registry.scan.severity_threshold
        self.prefix = image_prefix(platform)
        self.config_repo = config_repo_url(platform)
        registry = platform.registry
        # A registry on the loopback (a local one) or marked insecure speaks plain HTTP or an untrusted TLS.
        self.tls_verify = "false" if registry.insecure or is_loopback(registry.host) else "true"

    def _step(self, task: str, name: str, image: str = "", **env: str) -> Step:
        return Step(name=name, image=image or self.image, working_dir=SRC, env=_env(env), script=script(task, name))

    def _config_repo_param(self) -> ParamSpec:
        return ParamSpec(name="config-repo", default=self.config_repo, description="the GitOps config repo (URL)")

    def clone(self) -> Task:
        return Task(
            metadata=meta("shipyard-clone"),
            spec=TaskSpec(
                description="Check out the monorepo with its history and tags, on its branch when it has one.",
                params=[
                    ParamSpec(name="url"),
                    ParamSpec(name="revision"),
                    ParamSpec(name="ref", default="", description="refs/heads/<branch> to check out as a branch"),
                ],
                workspaces=declare_workspaces("source", "git-credentials", optional=("git-credentials",)),
                results=[TaskResult(name="commit", description="the commit checked out")],
                steps=[
                    self._step(
                        "clone",
                        "clone",
                        URL="$(params.url)",
                        REVISION="$(params.revision)",
                        REF="$(params.ref)",
                        RESULT_COMMIT_PATH="$(results.commit.path)",
                        **_OPTIONAL_GIT_CREDENTIALS,
                    )
                ],
            ),
        )

    def version(self) -> Task:
        return Task(
            metadata=meta("shipyard-version"),
            spec=TaskSpec(
                description="Compute the version of this commit (pr-<n>-<sha7>, alpha, beta or stable).",
                params=[ParamSpec(name="pr-number", default="", description="set for pull request builds")],
                workspaces=declare_workspaces("source"),
                results=[TaskResult(name="version")],
                steps=[
                    self._step(
                        "version",
                        "version",
                        PR_NUMBER="$(params.pr-number)",
                        RESULT_VERSION_PATH="$(results.version.path)",
                    )
                ],
            ),
        )

    def affected(self) -> Task:
        return Task(
            metadata=meta("shipyard-affected"),
            spec=TaskSpec(
                description="List the affected projects, split the services into matrix batches; install dependencies.",
                params=[
                    ParamSpec(name="base", description="the revision to compare with"),
                    ParamSpec(name="fallback-base", default="", description="used when base is empty"),
                    ParamSpec(name="max-batches", default=str(MAX_MATRIX)),
                ],
                workspaces=declare_workspaces("source"),
                results=[TaskResult(name="batches", type="array", description="batch indexes for the matrix")],
                steps=[
                    self._step(
                        "affected",
                        "affected",
                        BASE="$(params.base)",
                        FALLBACK_BASE="$(params.fallback-base)",
                        MAX_BATCHES="$(params.max-batches)",
                        RESULT_BATCHES_PATH="$(results.batches.path)",
                    )
                ],
            ),
        )

    def validate(self) -> Task:
        task = "validate"
        return Task(
            metadata=meta("shipyard-validate"),
            spec=TaskSpec(
                description="Check the branch name and the spec, build the packages, lint, test the affected packages.",
                params=[
                    ParamSpec(name="head-ref", description="the pull request's branch"),
                    ParamSpec(name="base-ref", description="the branch it merges into"),
                ],
                workspaces=declare_workspaces("source"),
                steps=[
                    self._step(task, "branch", HEAD_REF="$(params.head-ref)", BASE_REF="$(params.base-ref)"),
                    self._step(task, "spec"),
                    self._step(task, "build"),
                    self._step(task, "lint"),
                    self._step(task, "test"),
                ],
            ),
        )

    def build_batch(self) -> Task:
        task = "build-batch"
        common = {"BATCH": "$(params.batch)"}
        pushed = {**common, "PUSH": "$(params.push)"}
        image_env = {**pushed, "IMAGE_PREFIX": "$(params.image-prefix)", "VERSION": "$(params.version)"}
        bound = {"WORKSPACE_REGISTRY_AUTH_BOUND": "$(workspaces.registry-auth.bound)"}
        build = self._step(
            task,
            "build",
            images.BUILDAH,
            **image_env,
            TLS_VERIFY=self.tls_verify,
            REVISION="$(params.revision)",
            SOURCE="$(params.source)",
            PR_NUMBER="$(params.pr-number)",
            **_REGISTRY_AUTH,
            **bound,
        )
        scan_env = {**image_env, **bound, "WORKSPACE_REGISTRY_AUTH_PATH": "$(workspaces.registry-auth.path)"}
        if self.tls_verify == "false":
            scan_env["TRIVY_INSECURE"] = "true"
        return Task(
            metadata=meta("shipyard-build-batch"),
            spec=TaskSpec(
                description="Test, build (buildah), push, scan (Trivy) and gate one batch of affected services.",
                params=[
                    ParamSpec(name="batch", description="index of the batch in .shipyard/batches.json"),
                    ParamSpec(name="version", description="the image tag to build"),
                    ParamSpec(name="image-prefix", default=self.prefix),
                    ParamSpec(name="scan-threshold", default=self.threshold),
                    ParamSpec(name="revision", default="", description="the commit built (an image annotation)"),
                    ParamSpec(name="source", default="", description="the repository's URL (an image annotation)"),
                    ParamSpec(name="pr-number", default="", description="the pull request built, if any"),
                    ParamSpec(
                        name="push", default="true", description="false: build only (no push, so no scan or gate)"
                    ),
                ],
                workspaces=declare_workspaces("source", "registry-auth", optional=("registry-auth",)),
                steps=[
                    self._step(task, "select", **common),
                    self._step(task, "test", **common),
                    # buildah inside a pod needs it, as in Tekton's catalog buildah task.
                    build.model_copy(update={"security_context": SecurityContext(privileged=True)}),
                    self._step(task, "scan", images.TRIVY, **scan_env),
                    self._step(task, "gate", **pushed, THRESHOLD="$(params.scan-threshold)"),
                ],
            ),
        )

    def release_tags(self) -> Task:
        return Task(
            metadata=meta("shipyard-release-tags"),
            spec=TaskSpec(
                description="Give every service the version's tags: built ones by digest, the rest by retagging.",
                params=[
                    ParamSpec(name="version"),
                    ParamSpec(name="from-tag", description="where unaffected services' images come from"),
                    ParamSpec(name="image-prefix", default=self.prefix),
                ],
                workspaces=declare_workspaces("source", "registry-auth"),
                steps=[
                    self._step(
                        "release-tags",
                        "tag",
                        VERSION="$(params.version)",
                        FROM_TAG="$(params.from-tag)",
                        IMAGE_PREFIX="$(params.image-prefix)",
                        **_REGISTRY_AUTH,
                    )
                ],
            ),
        )

    def stable_source(self) -> Task:
        return Task(
            metadata=meta("shipyard-stable-source"),
            spec=TaskSpec(
                description="Decide whether main's tree is the last beta's: then promote its digests, else build.",
                params=[ParamSpec(name="version")],
                workspaces=declare_workspaces("source"),
                results=[
                    TaskResult(name="mode", description="retag or build"),
                    TaskResult(name="source-tag", description="the beta whose digests become stable"),
                ],
                steps=[
                    self._step(
                        "stable-source",
                        "decide",
                        VERSION="$(params.version)",
                        RESULT_MODE_PATH="$(results.mode.path)",
                        RESULT_SOURCE_TAG_PATH="$(results.source-tag.path)",
                    )
                ],
            ),
        )

    def promote_tags(self) -> Task:
        return Task(
            metadata=meta("shipyard-promote-tags"),
            spec=TaskSpec(
                description="Add a version's tags to the digests of an earlier version (no rebuild).",
                params=[ParamSpec(name="version"), ParamSpec(name="source-tag"), ParamSpec(name="image-prefix")],
                workspaces=declare_workspaces("source", "registry-auth"),
                steps=[
                    self._step(
                        "promote-tags",
                        "promote",
                        VERSION="$(params.version)",
                        SOURCE_TAG="$(params.source-tag)",
                        IMAGE_PREFIX="$(params.image-prefix)",
                        **_REGISTRY_AUTH,
                    )
                ],
            ),
        )

    def git_tag(self) -> Task:
        return Task(
            metadata=meta("shipyard-git-tag"),
            spec=TaskSpec(
                description="Tag the commit with its version and push the tag (safe against concurrent runs).",
                workspaces=declare_workspaces("source", "git-credentials"),
                steps=[self._step("git-tag", "tag", **_GIT_CREDENTIALS)],
            ),
        )

    def freight(self) -> Task:
        return Task(
            metadata=meta("shipyard-freight"),
            spec=TaskSpec(
                description="Record the version's freight (every service's digest) in the config repo.",
                params=[
                    ParamSpec(name="version"),
                    ParamSpec(name="source-commit", description="the monorepo commit the images were built from"),
                    self._config_repo_param(),
                ],
                workspaces=declare_workspaces("source", "registry-auth", "git-credentials"),
                steps=[
                    self._step(
                        "freight",
                        "record",
                        VERSION="$(params.version)",
                        SOURCE_COMMIT="$(params.source-commit)",
                        **_CONFIG_REPO,
                        **_REGISTRY_AUTH,
                        **_GIT_CREDENTIALS,
                    )
                ],
            ),
        )

    def platform_config(self) -> Task:
        steps = [self._step("platform", "render", **_CONFIG_REPO, **_GIT_CREDENTIALS)]
        workspaces = ["source", "git-credentials"]
        if self.platform.registry.kind == "harbor":
            steps.append(self._step("platform", "harbor", WORKSPACE_HARBOR_AUTH_PATH="$(workspaces.harbor-auth.path)"))
            workspaces.append("harbor-auth")
        return Task(
            metadata=meta("shipyard-platform"),
            spec=TaskSpec(
                description="Render the config repo from this commit and push it; apply Harbor's settings.",
                params=[self._config_repo_param()],
                workspaces=declare_workspaces(*workspaces),
                steps=steps,
            ),
        )

    def packages_publish(self) -> Task:
        task = "packages-publish"
        return Task(
            metadata=meta("shipyard-packages-publish"),
            spec=TaskSpec(
                description="Build and test the npm packages, then publish them at the version with its dist-tag.",
                params=[ParamSpec(name="version", description="the release version the packages get")],
                workspaces=declare_workspaces("source", "npm-auth"),
                steps=[
                    self._step(task, "install"),
                    self._step(task, "build"),
                    self._step(task, "test"),
                    self._step(
                        task,
                        "publish",
                        VERSION="$(params.version)",
                        WORKSPACE_NPM_AUTH_PATH="$(workspaces.npm-auth.path)",
                    ),
                ],
            ),
        )

    def preview(self) -> Task:
        return Task(
            metadata=meta("shipyard-preview"),
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
                    self._config_repo_param(),
                ],
                workspaces=declare_workspaces("source", "git-credentials", "github-token", optional=("github-token",)),
                steps=[
                    self._step(
                        "preview",
                        "preview",
                        ACTION="$(params.action)",
                        PR_NUMBER="$(params.pr-number)",
                        REVISION="$(params.revision)",
                        REPO="$(params.repo-full-name)",
                        **_CONFIG_REPO,
                        **_GIT_CREDENTIALS,
                        WORKSPACE_GITHUB_TOKEN_BOUND="$(workspaces.github-token.bound)",
                        WORKSPACE_GITHUB_TOKEN_PATH="$(workspaces.github-token.path)",
                    )
                ],
            ),
        )

    def pr_feedback(self) -> Task:
        return Task(
            metadata=meta("shipyard-pr-feedback"),
            spec=TaskSpec(
                description="Post or update the pull request's Shipyard comment; request changes when the gate fails.",
                params=[
                    ParamSpec(name="repo-full-name"),
                    ParamSpec(name="pr-number"),
                    ParamSpec(name="pipeline-status"),
                    ParamSpec(name="scan-threshold", default=self.threshold),
                ],
                workspaces=declare_workspaces("source", "github-token"),
                steps=[
                    self._step(
                        "pr-feedback",
                        "comment",
                        REPO="$(params.repo-full-name)",
                        PR_NUMBER="$(params.pr-number)",
                        PIPELINE_STATUS="$(params.pipeline-status)",
                        THRESHOLD="$(params.scan-threshold)",
                        WORKSPACE_GITHUB_TOKEN_PATH="$(workspaces.github-token.path)",
                    )
                ],
            ),
        )

    def all(self) -> list[Task]:
        return [
            self.clone(),
            self.version(),
            self.affected(),
            self.validate(),
            self.build_batch(),
            self.release_tags(),
            self.stable_source(),
            self.promote_tags(),
            self.git_tag(),
            self.freight(),
            self.platform_config(),
            self.packages_publish(),
            self.preview(),
            self.pr_feedback(),
        ]


def render_tasks(platform: Platform) -> list[Task]:
    """Every Task the Pipelines run, in Shipyard's image except the build (buildah) and scan (Trivy) steps."""
    return _Tasks(platform).all()
