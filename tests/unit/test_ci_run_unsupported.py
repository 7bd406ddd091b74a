"""Every Tekton feature ``ci run`` does not execute is refused by name (exit 2) before anything runs; none is
skipped silently."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.ci.run import RunRequest, load_catalog, make_plan
from shipyard.ci.run.errors import TektonInputError, UnsupportedFeature

TASK = """\
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: t}
spec:
  params: [{name: p, default: ""}]
  workspaces: [{name: w}]
  results: [{name: r}]
  steps:
  - {name: s, image: alpine, script: "true"}
"""
PIPELINE = """\
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: p}
spec:
  workspaces: [{name: ws}]
  tasks:
  - name: a
    taskRef: {name: t}
    workspaces: [{name: w, workspace: ws}]
  - name: b
    taskRef: {name: t}
    workspaces: [{name: w, workspace: ws}]
"""


def plan(tmp_path: Path, task: str = TASK, pipeline: str = PIPELINE, extra: str = "") -> None:
    root = tmp_path / "tekton"
    root.mkdir()
    (root / "all.yaml").write_text("---\n".join(d for d in (task, pipeline, extra) if d))
    catalog = load_catalog(root)
    make_plan(catalog, RunRequest("r", "p", {}, {"ws": "volumeClaimTemplate"}), tmp_path / "work", {}, "u")


def edit(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("task", "pipeline", "feature"),
    [
        (TASK, edit(PIPELINE, "  - name: b\n", "  - name: b\n    retries: 2\n"), "field spec.tasks[1].retries"),
        (TASK, edit(PIPELINE, "    taskRef: {name: t}\n", "    taskSpec: {steps: []}\n"), "spec.tasks[0].taskSpec"),
        (TASK, PIPELINE + "  results: [{name: x, value: y}]\n", "field spec.results"),
        (TASK, edit(PIPELINE, "  - name: b\n", "  - name: b\n    when: [{cel: 'true'}]\n"), "when[0].cel"),
        (TASK, edit(PIPELINE, "    taskRef: {name: t}\n", "    taskRef: {name: t, resolver: git}\n"), "resolver"),
        (TASK + "  sidecars: [{name: db, image: postgres}]\n", PIPELINE, "field spec.sidecars"),
        (edit(TASK, 'script: "true"', "command: [make]"), PIPELINE, "spec.steps[0].command"),
        (edit(TASK, "results: [{name: r}]", "results: [{name: r, type: object}]"), PIPELINE, "'object'"),
        (edit(TASK, "workspaces: [{name: w}]", "workspaces: [{name: w, mountPath: /src}]"), PIPELINE, "mountPath"),
        (edit(TASK, '[{name: p, default: ""}]', "[{name: p, type: object}]"), PIPELINE, "'object'"),
    ],
)
def test_fields_outside_the_models_are_named(tmp_path: Path, task: str, pipeline: str, feature: str) -> None:
    with pytest.raises(UnsupportedFeature, match="unsupported Tekton feature") as caught:
        plan(tmp_path, task, pipeline)
    assert feature in str(caught.value)
    assert "tekton/all.yaml" in str(caught.value)


@pytest.mark.parametrize(
    ("task", "pipeline", "feature"),
    [
        (
            edit(
                TASK, "image: alpine,", "image: alpine, env: [{name: X, valueFrom: {secretKeyRef: {name: s, key: k}}}],"
            ),
            PIPELINE,
            "env valueFrom",
        ),
        (edit(TASK, 'script: "true"', 'script: "echo $(workspaces.w.claim)"'), PIPELINE, "$(workspaces.<w>.claim)"),
        (edit(TASK, 'script: "true"', 'script: "echo $(credentials.path)"'), PIPELINE, "$(credentials.path)"),
        (edit(TASK, "workspaces: [{name: w}]", "workspaces: [{name: w, readOnly: true}]"), PIPELINE, "read-only"),
        (
            TASK,
            edit(
                PIPELINE,
                "  - name: b\n    taskRef: {name: t}\n",
                "  - name: b\n    taskRef: {name: t}\n    params: [{name: p, value: $(tasks.a.matrix.length)}]\n",
            ),
            "matrix context variables",
        ),
        (
            TASK,
            edit(
                PIPELINE,
                "  - name: b\n    taskRef: {name: t}\n",
                "  - name: b\n    taskRef: {name: t}\n    params: [{name: p, value: $(tasks.a.results.r.key)}]\n",
            ),
            "object results",
        ),
    ],
)
def test_variables_and_values_outside_what_runs_are_named(
    tmp_path: Path, task: str, pipeline: str, feature: str
) -> None:
    with pytest.raises(UnsupportedFeature, match="unsupported Tekton feature") as caught:
        plan(tmp_path, task, pipeline)
    assert feature in str(caught.value)


@pytest.mark.parametrize(
    ("extra", "feature"),
    [
        ("apiVersion: tekton.dev/v1beta1\nkind: Task\nmetadata: {name: old}\nspec: {}\n", "tekton.dev/v1beta1 Task"),
        ("apiVersion: tekton.dev/v1alpha1\nkind: StepAction\nmetadata: {name: x}\n", "StepAction"),
        (
            "apiVersion: triggers.tekton.dev/v1beta1\nkind: ClusterTriggerBinding\nmetadata: {name: x}\n",
            "ClusterTriggerBinding",
        ),
    ],
)
def test_kinds_it_does_not_run_are_named(tmp_path: Path, extra: str, feature: str) -> None:
    with pytest.raises(UnsupportedFeature, match=feature):
        plan(tmp_path, extra=extra)


def test_rbac_and_other_kinds_are_not_read(tmp_path: Path) -> None:
    plan(tmp_path, extra="apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa}\n")


def test_a_kustomization_is_followed_and_its_other_fields_refused(tmp_path: Path) -> None:
    root = tmp_path / "tekton"
    root.mkdir()
    (root / "t.yaml").write_text(TASK)
    (root / "unlisted.yaml").write_text("not: [valid")
    (root / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [t.yaml]\n"
    )
    assert list(load_catalog(root).tasks) == ["t"]
    (root / "kustomization.yaml").write_text("resources: [t.yaml]\npatches: [{path: p.yaml}]\n")
    with pytest.raises(UnsupportedFeature, match="kustomization field patches"):
        load_catalog(root)
    (root / "kustomization.yaml").write_text("resources: [https://example.com/x.yaml]\n")
    with pytest.raises(UnsupportedFeature, match="not a file of this folder"):
        load_catalog(root)


def test_bad_yaml_and_duplicates_are_input_errors(tmp_path: Path) -> None:
    root = tmp_path / "tekton"
    root.mkdir()
    (root / "a.yaml").write_text(TASK + "---\n" + TASK)
    with pytest.raises(TektonInputError, match=r"Task t is also defined in tekton/a\.yaml"):
        load_catalog(root)
    (root / "a.yaml").write_text("base: &b {x: 1}\nother: *b\n")
    with pytest.raises(TektonInputError, match="aliases"):
        load_catalog(root)
    (root / "a.yaml").write_text(edit(TASK, '  steps:\n  - {name: s, image: alpine, script: "true"}', "  steps: 3"))
    with pytest.raises(TektonInputError, match=r"spec\.steps"):
        load_catalog(root)
