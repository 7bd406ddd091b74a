"""Every rendered pipeline, run end to end by ``ci run`` on the monorepo ``shipyard init`` scaffolds, through one
release cycle: develop's first push (alpha), a pull request (validation with its preview), a pull request from
a fork (no secrets), the pull request closed (preview tear-down), its merge (alpha and packages), a release
branch (beta) and the release on main (stable and packages).

Real parts: git (bare remotes for the monorepo and the config repo), Debian's docker-registry with token auth
(as Harbor's registry does it; tests/tokenauth.py issues the tokens), buildah (vfs, chroot), Verdaccio, npm and
node, Shipyard itself. Stand-ins, where no real part can run here: GitHub's API
(tests/standins/github.py, held to GitHub's OpenAPI description), Harbor's API (tests/standins/harbor.py, held
to Harbor's swagger; the images themselves go to the real docker-registry), and Trivy, whose vulnerability
database cannot be downloaded here (tests/standins/trivy.py writes a recorded Trivy report for the image it is
asked to scan, after checking the image is in the registry).

The tests run in order and share the cycle (one scaffold, one registry, images built once per pipeline run), so
they form one xdist group.
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import tarfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from shipyard.ci.events import ZERO, Repository, local_repository, pull_request_event, push_event
from shipyard.ci.run import EventRun, PipelineRunRecord, Quiet, run_event
from shipyard.ci.workspaces import PipelineSecrets, write_secret_workspaces
from shipyard.git import Git
from shipyard.github.feedback import MARKER
from shipyard.registry.auth import Credentials
from shipyard.registry.client import RemoteRegistry
from tests.npmparts import Verdaccio, offline_npm_env
from tests.realparts import need_binary, need_reference
from tests.registryparts import RegistryServer, start_registry
from tests.standins import trivy
from tests.standins.github import TEST_TOKEN, GitHubStandIn
from tests.standins.harbor import HarborStandin
from tests.standins.openapi import OpenAPI
from tests.standins.swagger import SwaggerChecker
from tests.tokenauth import TokenService

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("ci_pipelines")]

REPO = "acme/monorepo"
SERVICES = ("notification-service", "payment-service", "user-service")
PACKAGES = ("@acme/api-client", "@acme/common-types", "@acme/utils")
# A recorded report of a container image with MEDIUM and LOW findings only: the gate (threshold high) passes.
TRIVY_REPORT = ("trivy", "distroless-base.json")
REGISTRY_USER = Credentials("ci", "s3cret-registry")


class Notes(Quiet):
    """An observer that keeps the notes ``ci run`` shows people."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def note(self, message: str) -> None:
        self.notes.append(message)


@dataclass
class Cycle:
    """The monorepo, its remotes, the real and stand-in parts, and what each step of the cycle left behind."""

    work: Path
    remote: Path
    config: Path
    registry: RegistryServer
    verdaccio: Verdaccio
    github: GitHubStandIn
    harbor: HarborStandin
    secrets: dict[str, Path]
    folder: Path
    trivy_log: Path
    storage_conf: Path
    versions: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def repository(self) -> Repository:
        return local_repository(self.remote, REPO)

    def git(self, *args: str) -> str:
        return Git(self.work).run(*args).strip()

    def env(self) -> dict[str, str]:
        # ci run keeps a step's `git config --global` in its TaskRun; a file of this test's, never /dev/null (the
        # suite's setting), would take the writes if it did not.
        env = {**os.environ, "GIT_CONFIG_GLOBAL": str(self.folder / "user.gitconfig")}
        env["PATH"] = os.pathsep.join([str(self.folder / "bin"), str(Path(sys.executable).parent), env["PATH"]])
        env.update(offline_npm_env())
        env["CONTAINERS_STORAGE_CONF"] = str(self.storage_conf)  # buildah's storage in this test's folder
        env["GITHUB_API_URL"] = self.github.url
        env["SHIPYARD_HARBOR_URL"] = self.harbor.url
        env["TRIVY_STANDIN_REPORT"] = str(need_reference(*TRIVY_REPORT))
        env["TRIVY_STANDIN_LOG"] = str(self.trivy_log)
        return env

    def run(self, event: str, body: dict[str, Any], name: str) -> EventRun:
        observer = Notes()
        result = run_event(
            self.work, event, body, self.folder / "runs" / name, self.secrets, observer=observer, env=self.env()
        )
        self.notes.extend(observer.notes)
        return result

    def push(self, ref: str, before: str | None = None) -> dict[str, Any]:
        """Push ``ref`` of the work clone to the remote; the push event GitHub would send."""
        branch = ref.removeprefix("refs/heads/")
        old = before or Git(self.remote).run("rev-parse", "--verify", "--quiet", ref, check=False).strip() or ZERO
        self.git("push", "-q", "origin", f"{branch}:{ref}")
        return push_event(Git(self.remote), self.repository, ref, old, self.git("rev-parse", branch))

    def client(self) -> RemoteRegistry:
        return RemoteRegistry(self.registry.host, credentials=REGISTRY_USER)

    def tags(self, service: str) -> set[str]:
        client = self.client()
        try:
            return set(client.list_tags(f"services/{service}"))
        finally:
            client.close()

    def config_files(self, folder: str) -> list[str]:
        out = Git(self.config).run("ls-tree", "-r", "--name-only", "main", "--", folder, check=False)
        return out.split()

    def config_file(self, path: str) -> str:
        return Git(self.config).run("show", f"main:{path}")

    def scans(self) -> list[dict[str, Any]]:
        if not self.trivy_log.exists():
            return []
        return [json.loads(line) for line in self.trivy_log.read_text().splitlines()]


def _why(run: PipelineRunRecord) -> str:
    """What failed, with the end of its log: the assertion message of a pipeline that did not succeed."""
    lines = [f"{run.name}: {run.status} ({run.message})"]
    for task in run.tasks:
        lines.append(f"  {task.name}: {task.shown_status} {task.skip_reason or task.validation_error or ''}")
        for taskrun in task.runs:
            for step in taskrun.steps:
                if step.status == "Failed" and step.log is not None:
                    lines.append(f"    step {step.name}: {step.message}")
                    lines.extend("      " + line for line in step.log.read_text().splitlines()[-20:])
    return "\n".join(lines)


def _only(result: EventRun, *pipelines: str) -> list[PipelineRunRecord]:
    assert [r.pipeline for r in result.runs] == list(pipelines), result.ignored
    for run in result.runs:
        assert run.succeeded, _why(run)
    return result.runs


def _statuses(run: PipelineRunRecord) -> dict[str, str]:
    return {t.name: t.shown_status for t in run.tasks}


def _log(run: PipelineRunRecord, task: str, step: str) -> str:
    found = next(t for t in run.tasks if t.name == task)
    return "\n".join(s.log.read_text() for r in found.runs for s in r.steps if s.name == step and s.log)


def _shipyard(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run([sys.executable, "-m", "shipyard", *args], cwd=cwd, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _write(root: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)


@pytest.fixture(scope="module")
def cycle(tmp_path_factory: pytest.TempPathFactory, verdaccio: Verdaccio, github_api: OpenAPI) -> Iterator[Cycle]:
    need_binary("buildah", "install Debian's buildah (deps/apt-test.txt)")
    folder = tmp_path_factory.mktemp("cycle")
    from shipyard.scaffold.init import InitOptions, init

    tokens = TokenService(REGISTRY_USER.username, REGISTRY_USER.password, folder).start()
    binary = need_binary("docker-registry", "install Debian's docker-registry (deps/apt-test.txt)")
    registry_server = start_registry(binary, folder / "registry", auth=tokens.registry_auth_config())

    work = folder / "acme"
    init(InitOptions(directory=work, org="acme", domain="acme.example.com", registry=registry_server.host))
    remote, config = folder / "monorepo.git", folder / "gitops-config.git"
    for bare in (remote, config):
        subprocess.run(["git", "init", "-q", "--bare", "--initial-branch=main", str(bare)], check=True)
    spec = work / "shipyard.yaml"
    spec.write_text(
        spec.read_text()
        + f"repos:\n  app: https://github.com/{REPO}\n  config: {config}\nnpm:\n  registry: {verdaccio.url}\n"
    )
    _shipyard(work, "ci", "render")
    git = Git(work)
    git.run("add", "-A")
    git.run("commit", "-q", "-m", "Configure the platform and render its pipelines")
    git.run("branch", "-f", "develop", "main")
    git.run("remote", "add", "origin", str(remote))
    git.run("push", "-q", "origin", "main")
    # The platform's base images (built from this machine's node and python), as the Dockerfiles expect.
    login = {
        **os.environ,
        "SHIPYARD_REGISTRY_USERNAME": REGISTRY_USER.username,
        "SHIPYARD_REGISTRY_PASSWORD": REGISTRY_USER.password,
    }
    _shipyard(work, "image", "base", "node", env=login)
    _shipyard(work, "image", "base", "python", env=login)

    secrets = write_secret_workspaces(
        folder / "secrets",
        PipelineSecrets(
            registry={registry_server.host: (REGISTRY_USER.username, REGISTRY_USER.password)},
            git_credentials=("https://ci:unused@github.com",),
            github_token=TEST_TOKEN,
            npm_token=verdaccio.token,
            harbor=("admin", "Harbor12345"),
        ),
    )
    trivy.install(folder / "bin")
    storage = folder / "buildah"
    storage_conf = folder / "storage.conf"
    storage_conf.write_text(
        f'[storage]\ndriver = "vfs"\ngraphroot = "{storage / "root"}"\nrunroot = "{storage / "run"}"\n'
    )
    harbor = HarborStandin(SwaggerChecker(need_reference("harbor", "swagger.yaml"))).start()
    github = GitHubStandIn(github_api, TEST_TOKEN)
    with github.running():
        yield Cycle(
            work,
            remote,
            config,
            registry_server,
            verdaccio,
            github,
            harbor,
            secrets,
            folder,
            folder / "trivy.log",
            storage_conf,
        )
    harbor.stop()
    registry_server.stop()
    tokens.stop()
    assert github.violations == [], github.violations
    assert harbor.violations == [], harbor.violations


def test_first_push_of_develop_builds_an_alpha_tags_it_and_records_its_freight(cycle: Cycle) -> None:
    result = cycle.run("push", cycle.push("refs/heads/develop", ZERO), "alpha-1")
    # develop is new and holds no commit main lacks: no package changed, so only alpha-build runs.
    (alpha,) = _only(result, "alpha-build")
    assert set(_statuses(alpha).values()) == {"Succeeded"}, _statuses(alpha)
    version = alpha.tasks[1].results["version"]
    assert isinstance(version, str) and version.startswith("v0.1.0-alpha.")
    cycle.versions["alpha-1"] = version
    # Every service built (a new branch: everything is affected), pushed, scanned by digest, tagged.
    for service in SERVICES:
        assert {version, "alpha", "latest-alpha"} <= cycle.tags(service)
    scanned = {s["image"].split("@")[0].rsplit("/", 1)[1] for s in cycle.scans()}
    assert scanned == set(SERVICES)
    # The registry credentials reached Trivy through the step's own home, never a path of the image's layout.
    assert all(s["dockerConfig"].startswith(str(cycle.folder / "runs")) for s in cycle.scans())
    # The alpha is a git tag of the commit, pushed.
    assert version in Git(cycle.remote).run("tag", "--list").split()
    # Its freight: every service by digest, from the commit built.
    freight = cycle.config_file(f"freight/{version}.yaml")
    commit = cycle.git("rev-parse", "develop")
    assert f"sourceCommit: {commit}" in freight and all(s in freight for s in SERVICES)
    # The config repo is rendered from develop, and Harbor's projects are set (the CI robot left alone).
    assert cycle.config_files("overlays/dev") and cycle.config_files("kargo")
    assert set(cycle.harbor.state.projects) == {"services", "base-images"} and cycle.harbor.state.robots == {}
    # Pod-level settings of the PipelineRun (fsGroup) are accepted and said not to apply here.
    assert any("securityContext.fsGroup: 1000" in note and "not applied here" in note for note in cycle.notes)


def test_pull_request_is_checked_tested_built_scanned_and_previewed(cycle: Cycle) -> None:
    cycle.git("checkout", "-q", "-b", "feature/utils-greeting", "develop")
    utils = cycle.work / "packages" / "utils"
    _write(
        cycle.work,
        {
            "packages/utils/src/index.ts": (utils / "src" / "index.ts").read_text()
            + "\nexport function greeting(name: string): string {\n  return `Hello, ${name}!`;\n}\n",
            "packages/utils/tests/greeting.test.js": (
                '"use strict";\nconst { test } = require("node:test");\nconst assert = require("node:assert");\n'
                'const { greeting } = require("../dist/index.js");\n\n'
                'test("greeting names the person", () => {\n'
                '  assert.strictEqual(greeting("Ada"), "Hello, Ada!");\n});\n'
            ),
        },
    )
    cycle.git("add", "-A")
    cycle.git("commit", "-q", "-m", "utils: a greeting")
    head = cycle.git("rev-parse", "HEAD")
    cycle.git("push", "-q", "origin", "feature/utils-greeting", f"{head}:refs/pull/1/head")
    cycle.github.add_pull(REPO, 1, "open")
    body = pull_request_event(cycle.repository, "opened", 1, head, "feature/utils-greeting", "develop")
    (run,) = _only(cycle.run("pull_request", body, "pr-1"), "pr-validation")
    assert set(_statuses(run).values()) == {"Succeeded"}, _statuses(run)
    # The branch name, the spec and the lint are checked; the affected packages are built in order and tested.
    assert "feature/utils-greeting: feature branch -> develop" in _log(run, "validate", "branch")
    assert "node --check src/server.js" in _log(run, "validate", "lint")
    built = _log(run, "validate", "build")
    assert built.index("common-types ok") < built.index("utils ok") < built.index("api-client ok")
    tested = _log(run, "validate", "test")
    assert "npm run test: utils ok" in tested and "npm run test: api-client ok" in tested
    assert "common-types" not in tested  # not affected
    # The affected services (utils' users) are built as pr-1-<sha7>, pushed and scanned; the others are not.
    tag = f"pr-1-{head[:7]}"
    assert {s for s in SERVICES if tag in cycle.tags(s)} == {"payment-service", "user-service"}
    assert {s["image"].split("@")[0] for s in cycle.scans()[-2:]} == {
        f"{cycle.registry.host}/services/payment-service",
        f"{cycle.registry.host}/services/user-service",
    }
    # The preview is in the config repo, and the PR's one Shipyard comment has its URLs and the gate's verdict.
    assert "previews/pr-1/kustomization.yaml" in cycle.config_files("previews/pr-1")
    (comment,) = [c["body"] for c in cycle.github.comments.values() if MARKER in c["body"]]
    assert "pr-1-user-service.preview.acme.example.com" in comment and "passed" in comment.lower()


def test_pull_request_from_a_fork_runs_without_any_secret(cycle: Cycle) -> None:
    cycle.git("checkout", "-q", "-b", "feature/notification-service-tone", "develop")
    app = cycle.work / "services" / "notification-service" / "src" / "app.py"
    app.write_text(app.read_text() + "\n# A warmer tone, one day.\n")
    cycle.git("commit", "-q", "-am", "notification-service: a note on tone")
    head = cycle.git("rev-parse", "HEAD")
    # GitHub keeps a fork's pull request head in the base repository, under refs/pull/<n>/head.
    cycle.git("push", "-q", "origin", f"{head}:refs/pull/2/head")
    fork = Repository("someone/monorepo", "https://github.com/someone/monorepo.git")
    body = pull_request_event(
        cycle.repository, "opened", 2, head, "feature/notification-service-tone", "develop", head_repository=fork
    )
    requests, scans = len(cycle.github.requests), len(cycle.scans())
    result = cycle.run("pull_request", body, "pr-2")
    (run,) = _only(result, "pr-validation-fork")
    # Every secret was offered; the fork's pipeline takes none of them.
    assert [name for name, _ in _workspaces(result)] == ["source"]
    assert set(_statuses(run).values()) == {"Succeeded"}, _statuses(run)
    assert "not pushed" in _log(run, "build", "build")
    assert "notification-service" in _log(run, "build", "build")
    # Nothing was pushed, scanned, previewed or commented.
    assert not any(t.startswith("pr-2-") for s in SERVICES for t in cycle.tags(s))
    assert len(cycle.scans()) == scans
    assert cycle.config_files("previews/pr-2") == []
    assert len(cycle.github.requests) == requests


def _workspaces(result: EventRun) -> list[tuple[str, Path | None]]:
    (plan,) = result.plans
    return [(w.name, w.path) for w in plan.workspaces.values()]


def test_closed_pull_request_tears_its_preview_down(cycle: Cycle) -> None:
    head = cycle.git("rev-parse", "feature/utils-greeting")
    body = pull_request_event(cycle.repository, "closed", 1, head, "feature/utils-greeting", "develop", merged=True)
    _only(cycle.run("pull_request", body, "pr-1-closed"), "preview-teardown")
    assert cycle.config_files("previews/pr-1") == []


def test_merge_into_develop_builds_the_next_alpha_and_publishes_the_packages(cycle: Cycle) -> None:
    before = cycle.git("rev-parse", "develop")
    cycle.git("checkout", "-q", "develop")
    cycle.git("merge", "-q", "--no-ff", "feature/utils-greeting", "-m", f"Merge pull request #1 from {REPO}-utils")
    result = cycle.run("push", cycle.push("refs/heads/develop", before), "alpha-2")
    alpha, packages = _only(result, "alpha-build", "package-build")
    version = alpha.tasks[1].results["version"]
    assert isinstance(version, str) and version.startswith("v0.1.0-alpha.") and version != cycle.versions["alpha-1"]
    cycle.versions["alpha-2"] = version
    # The unaffected notification-service keeps its image: the new version's tag is on the previous digest.
    client = cycle.client()
    try:
        first, second = (client.head_manifest("services/notification-service", v) for v in cycle.versions.values())
        rebuilt = [client.head_manifest("services/user-service", v) for v in cycle.versions.values()]
    finally:
        client.close()
    assert first == second and rebuilt[0] != rebuilt[1]
    # The freight names the pull request the merge came from.
    assert "pr: 1" in cycle.config_file(f"freight/{version}.yaml")
    # The packages are built, tested and published at the alpha, under the alpha dist-tag, with their dist/.
    assert _statuses(packages) == {name: "Succeeded" for name in ("clone", "version", "publish")}
    npm_version = version.removeprefix("v")
    for name in PACKAGES:
        assert cycle.verdaccio.packument(name)["dist-tags"]["alpha"] == npm_version  # type: ignore[index]
    assert "package/dist/index.js" in _tarball_files(cycle.verdaccio, "@acme/utils", npm_version)


def _tarball_files(verdaccio: Verdaccio, name: str, version: str) -> list[str]:
    packument = verdaccio.packument(name)
    url = packument["versions"][version]["dist"]["tarball"]  # type: ignore[index]
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {verdaccio.token}"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        data = reply.read()
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        return archive.getnames()


def test_release_branch_builds_a_beta_tags_it_and_records_its_freight(cycle: Cycle) -> None:
    _shipyard(cycle.work, "release", "start", "0.1.0")
    cycle.git("fetch", "-q", "origin")
    branch = "refs/heads/release/v0.1.0"
    new = cycle.git("rev-parse", "origin/release/v0.1.0")
    body = push_event(Git(cycle.remote), cycle.repository, branch, ZERO, new)
    (beta,) = _only(cycle.run("push", body, "beta-1"), "beta-build")
    assert set(_statuses(beta).values()) == {"Succeeded"}, _statuses(beta)
    assert beta.tasks[1].results["version"] == "v0.1.0-beta.1"
    for service in SERVICES:
        assert {"v0.1.0-beta.1", "beta", "latest-beta"} <= cycle.tags(service)
    assert "v0.1.0-beta.1" in Git(cycle.remote).run("tag", "--list").split()
    assert f"sourceCommit: {new}" in cycle.config_file("freight/v0.1.0-beta.1.yaml")


def test_release_on_main_promotes_the_betas_digests_and_publishes_stable_packages(cycle: Cycle) -> None:
    before = Git(cycle.remote).run("rev-parse", "main").strip()
    cycle.git("checkout", "-q", "develop")
    cycle.git("pull", "-q", "--ff-only", "origin", "develop")
    _shipyard(cycle.work, "release", "finish", "--branch", "release/v0.1.0")
    after = Git(cycle.remote).run("rev-parse", "main").strip()
    body = push_event(Git(cycle.remote), cycle.repository, "refs/heads/main", before, after)
    stable, packages = _only(cycle.run("push", body, "stable"), "stable-release", "package-build")
    statuses = _statuses(stable)
    # main's tree is the beta's: its digests get the stable tags, nothing is rebuilt.
    assert statuses["promote"] == "Succeeded" and statuses["build"] == "Skipped", statuses
    assert statuses["git-tag"] == statuses["freight"] == "Succeeded", statuses
    client = cycle.client()
    try:
        for service in SERVICES:
            beta = client.head_manifest(f"services/{service}", "v0.1.0-beta.1")
            assert client.head_manifest(f"services/{service}", "v0.1.0") == beta
            assert {"v0.1.0", "latest", "stable", "v0.1", "v0"} <= cycle.tags(service)
    finally:
        client.close()
    assert f"sourceCommit: {after}" in cycle.config_file("freight/v0.1.0.yaml")
    assert set(_statuses(packages).values()) == {"Succeeded"}
    for name in PACKAGES:
        assert cycle.verdaccio.packument(name)["dist-tags"]["latest"] == "0.1.0"  # type: ignore[index]


def test_no_secret_reaches_a_step_log(cycle: Cycle) -> None:
    logs = "\n".join(p.read_text(errors="replace") for p in (cycle.folder / "runs").rglob("*.log"))
    secrets = [TEST_TOKEN, cycle.verdaccio.token, "Harbor12345", REGISTRY_USER.password]
    secrets += [base64.b64encode(s.encode()).decode() for s in ("admin:Harbor12345", "ci:s3cret-registry")]
    for secret in secrets:
        assert secret not in logs
