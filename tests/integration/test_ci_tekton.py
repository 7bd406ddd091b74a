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
    assert checked >= 11 + 6 + 1 + 6 + 6


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
            lambda d: d[0]["spec"]["tasks"][3]["matrix"]["params"][0].update(value="$(tasks.affected.results.nope[*])"),
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


def test_cel_filters_agree_with_ci_plan(rendered: dict[str, str]) -> None:
    env = celpy.Environment()
    triggers = [
        (name, events, env.program(env.compile(f)), binding) for name, events, f, binding in _triggers(rendered)
    ]
    cases = [(event, body) for event, _, body in webhook_examples()] + _branch_variants()
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
