"""The rendered tekton/ of the example monorepo: golden files, Tekton's CRD schemas, the npm linter
@ibm/tekton-lint, Shipyard's own reference checks, and the CEL filters evaluated with cel-python against
``ci plan`` on every GitHub webhook example."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import celpy
import pytest
from celpy.adapter import json_to_cel
from celpy.evaluation import CELEvalError

from shipyard.k8s.yaml import dump_all, load_all
from shipyard.render.tekton.checks import check_files
from shipyard.render.tekton.routes import plan_event
from shipyard.render.tekton.target import render_tekton
from shipyard.spec.loader import load_spec
from shipyard.workspace.discovery import discover
from tests.ci_crd import crd_validator, errors
from tests.ci_parts import NODE_MODULES, webhook_examples
from tests.realparts import missing, need_binary, need_reference

pytestmark = pytest.mark.integration

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "ci_tekton"


@pytest.fixture
def rendered(acme: Path) -> dict[str, str]:
    return render_tekton(load_spec(acme / "shipyard.yaml"), discover(acme))


def _objects(files: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    return [(path, doc) for path, text in files.items() for doc in load_all(text)]


def test_golden_files(rendered: dict[str, str]) -> None:
    if os.environ.get("SHIPYARD_UPDATE_GOLDEN") == "1":
        for path, text in rendered.items():
            (GOLDEN / path).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / path).write_text(text)
    on_disk = {str(p.relative_to(GOLDEN)): p.read_text() for p in GOLDEN.rglob("*.yaml")}
    assert sorted(on_disk) == sorted(rendered), "run with SHIPYARD_UPDATE_GOLDEN=1 after an intended change"
    for path, text in rendered.items():
        assert on_disk[path] == text, path


def test_render_is_deterministic(acme: Path, rendered: dict[str, str]) -> None:
    assert render_tekton(load_spec(acme / "shipyard.yaml"), discover(acme)) == rendered


def test_api_versions_and_kinds(rendered: dict[str, str]) -> None:
    kinds = {(doc["apiVersion"], doc["kind"]) for _, doc in _objects(rendered)}
    assert ("tekton.dev/v1", "Task") in kinds
    assert ("tekton.dev/v1", "Pipeline") in kinds
    for kind in ("EventListener", "TriggerBinding", "TriggerTemplate"):
        assert ("triggers.tekton.dev/v1beta1", kind) in kinds
    pipelines = {doc["metadata"]["name"] for _, doc in _objects(rendered) if doc["kind"] == "Pipeline"}
    assert pipelines == {
        "pr-validation",
        "pr-validation-fork",
        "preview-teardown",
        "alpha-build",
        "beta-build",
        "stable-release",
        "package-build",
    }


def test_valid_against_tekton_crds(rendered: dict[str, str]) -> None:
    folder = need_reference("crds", "tekton-pipeline")
    validators = {
        kind: crd_validator(folder / f"300-{kind.lower()}.yaml", "v1") for kind in ("Task", "Pipeline", "PipelineRun")
    }
    triggers = need_reference("crds", "tekton-triggers")
    # The Triggers CRDs preserve unknown fields: their schemas accept any object. Our typed models and
    # tekton_check carry that part; the check below still proves the kinds and versions are served.
    served = {
        "EventListener": crd_validator(triggers / "300-eventlistener.yaml", "v1beta1"),
        "TriggerBinding": crd_validator(triggers / "300-triggerbinding.yaml", "v1beta1"),
        "TriggerTemplate": crd_validator(triggers / "300-triggertemplate.yaml", "v1beta1"),
    }
    checked = 0
    for path, doc in _objects(rendered):
        validator = validators.get(doc["kind"]) or served.get(doc["kind"])
        if validator is not None:
            assert errors(validator, doc) == [], path
            checked += 1
        if doc["kind"] == "TriggerTemplate":
            for run in doc["spec"]["resourcetemplates"]:
                assert errors(validators["PipelineRun"], run) == [], path
    assert checked >= 14 + 7 + 1 + 7 + 7


def test_a_schema_error_is_caught() -> None:
    validator = crd_validator(need_reference("crds", "tekton-pipeline", "300-task.yaml"), "v1")
    bad = {"apiVersion": "tekton.dev/v1", "kind": "Task", "metadata": {"name": "x"}}
    bad["spec"] = {"steps": [{"name": "a", "image": "b:1", "scirpt": "echo"}]}
    assert errors(validator, bad)


def test_shipyards_own_checks_pass(rendered: dict[str, str]) -> None:
    assert check_files(rendered) == []


def _mutate(rendered: dict[str, str], path: str, change: Any) -> dict[str, str]:
    docs = load_all(rendered[path])
    change(docs)
    return {**rendered, path: dump_all(docs)}


@pytest.mark.parametrize(
    ("path", "change", "expected"),
    [
        (
            "tekton/tasks/shipyard-version.yaml",
            lambda d: d[0]["spec"]["steps"][0]["env"].append({"name": "X", "value": "$(params.nope)"}),
            r"\$\(params.nope\), which is not declared",
        ),
        (
            "tekton/pipelines/alpha-build.yaml",
            lambda d: d[0]["spec"]["tasks"][1].update(runAfter=["clown"]),
            "runs after 'clown'",
        ),
        (
            "tekton/pipelines/alpha-build.yaml",
            lambda d: d[0]["spec"]["tasks"][0].update(runAfter=["version"]),
            "cycle: ",
        ),
        (
            "tekton/pipelines/alpha-build.yaml",
            lambda d: d[0]["spec"]["tasks"][0].update(workspaces=[]),
            "does not bind workspace 'source'",
        ),
        (
            "tekton/pipelines/alpha-build.yaml",
            lambda d: d[0]["spec"]["workspaces"].append({"name": "spare"}),
            "'spare' is declared but no task binds it",
        ),
        (
            "tekton/triggers/alpha-build.yaml",
            lambda d: d[1]["spec"]["resourcetemplates"][0]["spec"]["params"][0].update(value="$(params.git-url)"),
            r"TriggerTemplate's own params are \$\(tt.params",
        ),
        (
            "tekton/triggers/pr-validation.yaml",
            lambda d: d[1]["spec"]["resourcetemplates"][0]["spec"].update(workspaces=[]),
            "does not bind workspace",
        ),
        (
            "tekton/triggers/event-listener.yaml",
            lambda d: d[0]["spec"]["triggers"][0]["interceptors"][1]["params"][0].update(value="body.ref != ''"),
            "filters on body.ref",
        ),
        (
            "tekton/triggers/event-listener.yaml",
            lambda d: d[0]["spec"]["triggers"][0]["interceptors"][1]["params"][0].update(value="true"),
            "without an action filter",
        ),
        (
            "tekton/triggers/event-listener.yaml",
            lambda d: d[0]["spec"].update(serviceAccountName="default"),
            "no RBAC",
        ),
        (
            "tekton/rbac.yaml",
            lambda d: d.pop(),
            "not bound to ClusterRole tekton-triggers-eventlistener-clusterroles",
        ),
        (
            "tekton/tasks/shipyard-build-batch.yaml",
            lambda d: d[0]["spec"]["steps"][3].update(image="docker.io/aquasec/trivy:latest"),
            "moving tag 'latest'",
        ),
        (
            "tekton/pipelines/pr-validation.yaml",
            lambda d: d[0]["spec"]["tasks"][4]["matrix"]["params"][0].update(value="$(tasks.affected.results.nope[*])"),
            "reads result 'nope'",
        ),
    ],
)
def test_each_own_check_catches_its_mistake(rendered: dict[str, str], path: str, change: Any, expected: str) -> None:
    problems = check_files(_mutate(rendered, path, change))
    assert any(re.search(expected, p) for p in problems), problems


def test_tekton_lint(rendered: dict[str, str], tmp_path: Path) -> None:
    lint = NODE_MODULES / ".bin" / "tekton-lint"
    if not lint.exists():
        missing("tekton-lint", "installed by `make test-deps` from deps/npm-test/package.json")
    for path, text in rendered.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    proc = subprocess.run(
        [str(lint), "--format", "json", "tekton/**/*.yaml"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    # A JSON report, even an empty one: a lint that crashed or read nothing must not pass as a clean lint.
    assert proc.returncode in (0, 1) and proc.stdout.strip(), proc.stderr
    problems = json.loads(proc.stdout)
    assert isinstance(problems, list), proc.stdout

    def matrix_blind_spot(problem: dict[str, Any]) -> bool:
        # tekton-lint 1.1.0 does not know Tekton's matrix: a param given by `matrix` counts as missing, and
        # an array result read whole (`results.batches[*]`) as undefined. tekton_check verifies both instead.
        message = problem.get("message", "")
        return (problem.get("rule") == "no-missing-param" and "parameter 'batch' is not supplied" in message) or (
            problem.get("rule") == "no-undefined-result" and "'batches[*]' is not a result" in message
        )

    real = [p for p in problems if not matrix_blind_spot(p)]
    assert real == [], real
    # Its blind spots are the proof that it read the pipelines that use a matrix.
    assert len(real) < len(problems), "tekton-lint reported nothing: did it read the files?"


def test_lint_catches_a_real_mistake(rendered: dict[str, str], tmp_path: Path) -> None:
    lint = NODE_MODULES / ".bin" / "tekton-lint"
    if not lint.exists():
        missing("tekton-lint", "installed by `make test-deps` from deps/npm-test/package.json")
    broken = _mutate(
        rendered,
        "tekton/tasks/shipyard-version.yaml",
        lambda d: d[0]["spec"]["steps"][0].update(image="busybox"),
    )
    for path, text in broken.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    proc = subprocess.run(
        [str(lint), "--format", "json", "tekton/**/*.yaml"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert any(p.get("rule") == "no-latest-image" for p in json.loads(proc.stdout))


def _triggers(rendered: dict[str, str]) -> list[tuple[str, list[str], str, dict[str, str]]]:
    """(pipeline, event types, CEL filter, binding params) of every trigger, read from the rendered YAML."""
    objects = _objects(rendered)
    bindings = {doc["metadata"]["name"]: doc for _, doc in objects if doc["kind"] == "TriggerBinding"}
    listener = next(doc for _, doc in objects if doc["kind"] == "EventListener")
    found = []
    for trigger in listener["spec"]["triggers"]:
        params = {i["ref"]["name"]: {p["name"]: p["value"] for p in i["params"]} for i in trigger["interceptors"]}
        binding = bindings[trigger["bindings"][0]["ref"]]
        values = {p["name"]: p["value"] for p in binding["spec"]["params"]}
        found.append((trigger["name"], params["github"]["eventTypes"], params["cel"]["filter"], values))
    return found


def _bind(value: str, body: Any) -> str:
    # What Tekton Triggers does with `$(body.a.b)`: the field's value, JSON text for non-strings.
    match = re.fullmatch(r"\$\(body\.([A-Za-z0-9_.]+)\)", value)
    assert match, value
    current = body
    for part in match.group(1).split("."):
        current = current[part]
    return current if isinstance(current, str) else json.dumps(current)


def _branch_variants() -> list[tuple[str, dict[str, Any]]]:
    base = next(b for e, _, b in webhook_examples("push") if b["ref"].startswith("refs/heads/"))
    variants = []
    for ref in (
        "refs/heads/develop",
        "refs/heads/main",
        "refs/heads/release/v1.2.0",
        "refs/heads/hotfix/x",
        "refs/heads/feature/a-b",
    ):
        for files in ([], ["packages/utils/src/index.ts"], ["services/user-service/src/server.js"]):
            for deleted in (False, True):
                body = copy.deepcopy(base)
                body.update(ref=ref, deleted=deleted)
                for commit in body["commits"]:
                    commit.update(added=[], modified=files, removed=[])
                variants.append(("push", body))
    return variants


def _fork_variants() -> list[tuple[str, dict[str, Any]]]:
    """An opened pull request from the repository itself, from a fork, and from a deleted fork (head repo null)."""
    base = next(b for e, _, b in webhook_examples("pull_request") if b.get("action") == "opened")
    variants = []
    for head_repo in (
        base["pull_request"]["base"]["repo"],
        {**base["pull_request"]["base"]["repo"], "full_name": "x/y"},
        None,
    ):
        body = copy.deepcopy(base)
        body["pull_request"]["head"]["repo"] = copy.deepcopy(head_repo)
        variants.append(("pull_request", body))
    return variants


def test_cel_filters_agree_with_ci_plan(rendered: dict[str, str]) -> None:
    env = celpy.Environment()
    triggers = [
        (name, events, env.program(env.compile(f)), binding) for name, events, f, binding in _triggers(rendered)
    ]
    cases = [(event, body) for event, _, body in webhook_examples()] + _branch_variants() + _fork_variants()
    fired_somewhere = set()
    for event, body in cases:
        activation = {"body": json_to_cel(body)}
        fired: list[tuple[str, dict[str, str]]] = []
        for name, events, program, binding in triggers:
            if event not in events:
                continue  # the github interceptor stops it before CEL
            try:
                result = program.evaluate(activation)
            except CELEvalError:
                continue  # an evaluation error does not fire the trigger
            if isinstance(result, celpy.celtypes.BoolType) and bool(result):
                fired.append((name, {k: _bind(v, body) for k, v in binding.items()}))
        planned = plan_event(event, body)
        assert [(n, p) for n, p in planned.pipelines] == fired, (event, body.get("action"), body.get("ref"))
        fired_somewhere |= {n for n, _ in fired}
    assert fired_somewhere == {
        "pr-validation",
        "pr-validation-fork",
        "preview-teardown",
        "alpha-build",
        "beta-build",
        "stable-release",
        "package-build",
    }


def test_kustomize_builds_the_folder(rendered: dict[str, str], tmp_path: Path) -> None:
    kubectl = need_binary("kubectl", "listed in deps/apt-test.txt")
    for path, text in rendered.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    proc = subprocess.run([kubectl, "kustomize", str(tmp_path / "tekton")], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    built = load_all(proc.stdout)
    expected = sum(len(load_all(text)) for path, text in rendered.items() if not path.endswith("kustomization.yaml"))
    assert len(built) == expected


def _docs(rendered: dict[str, str]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(doc["kind"], doc["metadata"]["name"]): doc for _, doc in _objects(rendered) if "metadata" in doc}


def _tasks(docs: dict[tuple[str, str], dict[str, Any]], pipeline: str) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in docs[("Pipeline", pipeline)]["spec"]["tasks"]}


def _steps(docs: dict[tuple[str, str], dict[str, Any]], task: str) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in docs[("Task", task)]["spec"]["steps"]}


def _env(step: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in step.get("env", [])}


def test_packages_are_built_tested_and_published_at_the_version(rendered: dict[str, str]) -> None:
    docs = _docs(rendered)
    publish = _tasks(docs, "package-build")["publish"]
    assert {p["name"]: p["value"] for p in publish["params"]} == {"version": "$(tasks.version.results.version)"}
    steps = _steps(docs, "shipyard-packages-publish")
    assert list(steps) == ["install", "build", "test", "publish"]
    assert "shipyard packages build" in steps["build"]["script"]
    assert 'shipyard packages publish --version "$VERSION"' in steps["publish"]["script"]


def test_previews_get_the_config_repo_whether_or_not_the_spec_names_one(rendered: dict[str, str]) -> None:
    docs = _docs(rendered)
    assert _env(_steps(docs, "shipyard-preview")["preview"])["SHIPYARD_CONFIG_REPO"] == "$(params.config-repo)"
    for pipeline in ("pr-validation", "preview-teardown"):
        params = {p["name"]: p.get("default") for p in docs[("Pipeline", pipeline)]["spec"]["params"]}
        assert params["config-repo"] == ".shipyard/gitops-config.git"  # the scaffold's repos.config
        preview = _tasks(docs, pipeline)["preview"]
        assert {"name": "config-repo", "value": "$(params.config-repo)"} in preview["params"]


def test_release_pipelines_tag_record_freight_and_alpha_renders_the_platform(rendered: dict[str, str]) -> None:
    docs = _docs(rendered)
    for pipeline in ("alpha-build", "beta-build", "stable-release"):
        tasks = _tasks(docs, pipeline)
        assert tasks["git-tag"]["taskRef"]["name"] == "shipyard-git-tag", pipeline
        assert tasks["freight"]["runAfter"] == ["git-tag"], pipeline
    assert _tasks(docs, "alpha-build")["platform"]["runAfter"] == ["freight"]
    assert "shipyard render --out" in _steps(docs, "shipyard-platform")["render"]["script"]
    assert "--from-registry --source-commit" in _steps(docs, "shipyard-freight")["record"]["script"]


def test_pull_requests_check_the_branch_lint_and_test_packages(rendered: dict[str, str]) -> None:
    docs = _docs(rendered)
    for pipeline in ("pr-validation", "pr-validation-fork"):
        assert _tasks(docs, pipeline)["validate"]["taskRef"]["name"] == "shipyard-validate"
    steps = _steps(docs, "shipyard-validate")
    assert list(steps) == ["branch", "spec", "build", "lint", "test"]
    assert 'shipyard branch check "$HEAD_REF" --target "$BASE_REF"' in steps["branch"]["script"]
    assert "shipyard packages test --affected" in steps["test"]["script"]


def test_runs_have_an_fs_group_and_clones_take_git_credentials(rendered: dict[str, str]) -> None:
    docs = _docs(rendered)
    templates = [doc for (kind, _), doc in docs.items() if kind == "TriggerTemplate"]
    assert len(templates) == 7
    for template in templates:
        run = template["spec"]["resourcetemplates"][0]["spec"]
        assert run["taskRunTemplate"]["podTemplate"] == {"securityContext": {"fsGroup": 1000}}
    declared = {w["name"]: w for w in docs[("Task", "shipyard-clone")]["spec"]["workspaces"]}
    assert declared["git-credentials"] == {"name": "git-credentials", "optional": True}
    for kind, name in docs:
        if kind == "Pipeline" and name != "pr-validation-fork":
            bound = {w["name"] for w in _tasks(docs, name)["clone"]["workspaces"]}
            assert bound == {"source", "git-credentials"}, name


def test_a_forks_pull_request_gets_no_secret(rendered: dict[str, str]) -> None:
    docs = _docs(rendered)
    assert docs[("Pipeline", "pr-validation-fork")]["spec"]["workspaces"] == [{"name": "source"}]
    (template,) = docs[("TriggerTemplate", "pr-validation-fork-template")]["spec"]["resourcetemplates"]
    assert [w["name"] for w in template["spec"]["workspaces"]] == ["source"]
    build = _tasks(docs, "pr-validation-fork")["build"]
    assert {"name": "push", "value": "false"} in build["params"]
    assert {"preview", "feedback"}.isdisjoint(_tasks(docs, "pr-validation-fork"))


def test_steps_use_the_credentials_they_are_given_not_the_images_layout(rendered: dict[str, str]) -> None:
    docs = _docs(rendered)
    for (kind, _), doc in docs.items():
        if kind == "Task":
            for step in doc["spec"]["steps"]:
                assert "/tekton/" not in json.dumps(step), step["name"]
    for task, step in (("shipyard-release-tags", "tag"), ("shipyard-promote-tags", "promote")):
        assert _env(_steps(docs, task)[step])["REGISTRY_AUTH_FILE"] == (
            "$(workspaces.registry-auth.path)/.dockerconfigjson"
        )
    assert 'DOCKER_CONFIG="$HOME/.docker"' in _steps(docs, "shipyard-build-batch")["scan"]["script"]
