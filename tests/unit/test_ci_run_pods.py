"""What a pod would be given that a process here cannot be: the PipelineRun's ``podTemplate`` (an fsGroup, a
node selector) is accepted, shown and not applied; a setting that would change what a step sees is refused;
and a step's user-level configuration (``git config --global``) is its TaskRun's, never this user's."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from shipyard.ci.run import Quiet, execute, load_catalog, make_plan, prepare, run_all
from shipyard.ci.run.errors import UnsupportedFeature
from shipyard.ci.run.plan import RunRequest

OBJECTS = """\
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: t}
spec:
  workspaces: [{name: w}]
  steps:
  - name: s
    image: docker.io/library/alpine:3.20
    script: |
      #!/bin/sh
      set -eu
      git config --global shipyard.test yes
      echo ran > $(workspaces.w.path)/ran
---
apiVersion: tekton.dev/v1
kind: Pipeline
metadata: {name: p}
spec:
  workspaces: [{name: ws}]
  tasks:
  - name: a
    taskRef: {name: t}
    workspaces: [{name: w, workspace: ws}]
---
apiVersion: triggers.tekton.dev/v1beta1
kind: TriggerBinding
metadata: {name: b}
spec:
  params: [{name: ref, value: $(body.ref)}]
---
apiVersion: triggers.tekton.dev/v1beta1
kind: TriggerTemplate
metadata: {name: tt}
spec:
  params: [{name: ref}]
  resourcetemplates:
  - apiVersion: tekton.dev/v1
    kind: PipelineRun
    metadata: {generateName: p-}
    spec:
      pipelineRef: {name: p}
      params: [{name: ref, value: $(tt.params.ref)}]
      workspaces:
      - name: ws
        volumeClaimTemplate: {spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}}
      taskRunTemplate:
        serviceAccountName: runner
        podTemplate:
          securityContext: {fsGroup: 1000, runAsUser: 1000, runAsNonRoot: true}
          nodeSelector: {pool: ci}
          tolerations: [{key: ci, operator: Exists, effect: NoSchedule}]
---
apiVersion: triggers.tekton.dev/v1beta1
kind: EventListener
metadata: {name: l}
spec:
  serviceAccountName: listener
  triggers:
  - name: on-push
    interceptors:
    - name: github
      ref: {name: github}
      params:
      - {name: secretRef, value: {secretName: s, secretKey: k}}
      - {name: eventTypes, value: [push]}
    bindings: [{ref: b}]
    template: {ref: tt}
"""


class Notes(Quiet):
    def __init__(self) -> None:
        self.notes: list[str] = []

    def note(self, message: str) -> None:
        self.notes.append(message)


def _folder(tmp_path: Path, objects: str) -> Path:
    root = tmp_path / "tekton"
    root.mkdir()
    (root / "objects.yaml").write_text(textwrap.dedent(objects))
    return root


def test_pod_settings_are_accepted_shown_and_not_applied(tmp_path: Path) -> None:
    catalog = load_catalog(_folder(tmp_path, OBJECTS))
    prepared = prepare(catalog, "push", {"ref": "refs/heads/main"}, {}, tmp_path / "runs", {}, signature_checked=True)
    (plan,) = prepared.plans
    assert plan.request.pod_settings == (
        "securityContext.runAsNonRoot: true",
        "securityContext.runAsUser: 1000",
        "securityContext.fsGroup: 1000",
        'nodeSelector: {"pool": "ci"}',
        'tolerations: [{"effect": "NoSchedule", "key": "ci", "operator": "Exists"}]',
    )
    assert plan.to_json()["ignoredPodSettings"] == list(plan.request.pod_settings)
    observer = Notes()
    # Never /dev/null (the suite's setting) here: were it passed on, a step's `git config --global` run as root
    # would replace the device with a file.
    env = {**os.environ, "GIT_CONFIG_GLOBAL": str(tmp_path / "users.gitconfig")}
    (record,) = run_all(prepared, observer, env=env).runs
    assert record.succeeded
    (note,) = [n for n in observer.notes if "podTemplate" in n]
    assert "securityContext.fsGroup: 1000" in note and "not applied here" in note


@pytest.mark.parametrize(
    ("setting", "field"),
    [
        ("env: [{name: X, value: y}]", "podTemplate.env"),
        ("volumes: [{name: v, emptyDir: {}}]", "podTemplate.volumes"),
        ("hostAliases: [{ip: 127.0.0.1, hostnames: [registry]}]", "podTemplate.hostAliases"),
    ],
)
def test_a_pod_setting_that_changes_what_steps_see_is_refused(tmp_path: Path, setting: str, field: str) -> None:
    objects = OBJECTS.replace("          nodeSelector: {pool: ci}\n", f"          {setting}\n")
    with pytest.raises(UnsupportedFeature, match=field):
        load_catalog(_folder(tmp_path, objects))


def test_a_steps_global_git_config_is_its_taskruns_not_the_users(tmp_path: Path) -> None:
    catalog = load_catalog(_folder(tmp_path, OBJECTS))
    users = tmp_path / "users.gitconfig"
    users.write_text("[user]\n\tname = Someone\n")
    xdg = tmp_path / "xdg"
    (xdg / "git").mkdir(parents=True)
    (xdg / "git" / "config").write_text("")
    env = {**os.environ, "GIT_CONFIG_GLOBAL": str(users), "XDG_CONFIG_HOME": str(xdg)}
    plan = make_plan(catalog, RunRequest("r", "p", {}, {"ws": "volumeClaimTemplate"}), tmp_path / "work", {}, "u")
    record = execute(plan, Quiet(), env)
    assert record.succeeded, record.tasks[0].runs[0].steps[0].log.read_text()  # type: ignore[union-attr]
    assert users.read_text() == "[user]\n\tname = Someone\n"
    assert (xdg / "git" / "config").read_text() == ""
    home = tmp_path / "work" / "tasks" / "r-a" / "home" / ".gitconfig"
    assert "test = yes" in home.read_text()
