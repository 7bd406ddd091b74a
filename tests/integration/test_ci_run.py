"""``shipyard ci run`` on the rendered ``tekton/``: the rendered triggers select what ``ci plan`` plans on every
GitHub webhook example (with the same params, from the rendered bindings and templates), every rendered
pipeline passes the executor's checks, and ``preview-teardown`` runs end to end with real git and Shipyard."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from shipyard.ci.run import Catalog, RunRequest, load_catalog, make_plan, prepare
from shipyard.ci.run.errors import TektonInputError, UnsupportedFeature
from shipyard.ci.run.triggers import listener_of, select
from shipyard.ci.signature import sign
from shipyard.render.tekton.routes import ROUTES, plan_event
from tests.ci_parts import webhook_examples
from tests.gitparts import GitHttpServer

pytestmark = pytest.mark.integration

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "ci_tekton" / "tekton"
SHA = "0123456789abcdef0123456789abcdef01234567"


@cache
def golden() -> Catalog:
    return load_catalog(GOLDEN)


def test_every_rendered_filter_is_one_the_executor_evaluates() -> None:
    listener = listener_of(load_catalog(GOLDEN))
    compiled = {route.pipeline: route.condition.cel() for route in ROUTES}
    for trigger in listener.spec.triggers:
        cel = next(p.value for i in trigger.interceptors if i.ref.name == "cel" for p in i.params)
        assert cel == compiled[trigger.name]


def test_triggers_select_what_ci_plan_plans() -> None:
    # Every example of every event GitHub documents (a missing package fails in CI, see npm_file).
    examples = webhook_examples()
    assert examples
    for event, index, body in examples:
        selection = select(golden(), event, body, {"X-Github-Event": event}, random.Random(1))
        planned = plan_event(event, body)
        where = f"{event} example {index}"
        assert [(r.trigger, r.run.spec.pipeline_ref.name) for r in selection.runs] == [
            (name, name) for name, _ in planned.pipelines
        ], where
        for run, (_, params) in zip(selection.runs, planned.pipelines, strict=True):
            assert {p.name: p.value for p in run.run.spec.params} == params, where
        assert (selection.ignored is None) == bool(planned.pipelines), where


def test_every_rendered_pipeline_passes_the_executors_checks(tmp_path: Path) -> None:
    catalog = load_catalog(GOLDEN)
    for name, pipeline in catalog.pipelines.items():
        params: dict[str, str | list[str]] = {p.name: "x" for p in pipeline.spec.params or [] if p.default is None}
        workspaces = {w.name: "volumeClaimTemplate" for w in pipeline.spec.workspaces or []}
        plan = make_plan(catalog, RunRequest(f"{name}-run", name, params, workspaces), tmp_path, {}, "uid")
        assert plan.order and set(plan.order) | set(plan.finally_tasks) == {t.name for t in pipeline.spec.tasks} | {
            t.name for t in pipeline.spec.finally_ or []
        }


def test_a_hand_edited_filter_or_an_overlay_is_refused_by_name(tmp_path: Path) -> None:
    folder = tmp_path / "tekton"
    shutil.copytree(GOLDEN, folder)
    listener = folder / "triggers" / "event-listener.yaml"
    original = listener.read_text()
    listener.write_text(original.replace("body.action == 'closed'", "body.action == 'closed' || true"))
    body = {"action": "closed", "number": 1, "repository": {"clone_url": "u", "full_name": "o/r"}}
    with pytest.raises(UnsupportedFeature, match="CEL filter"):
        select(load_catalog(folder), "pull_request", body, {})
    closed = "      - name: filter\n        value: body.action == 'closed'\n"
    listener.write_text(original.replace(closed, closed + "      - name: overlays\n        value: []\n"))
    with pytest.raises(UnsupportedFeature, match="CEL interceptor overlays"):
        select(load_catalog(folder), "pull_request", body, {})


def _shipyard(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # Steps run `git config --global`: never with the suite's GIT_CONFIG_GLOBAL=/dev/null, which git, run as
    # root, would replace with a file if ci run passed it on (it does not).
    env = env or {**os.environ, "GIT_CONFIG_GLOBAL": str(cwd.parent / "user.gitconfig")}
    return subprocess.run(
        [sys.executable, "-m", "shipyard", *args], cwd=cwd, capture_output=True, text=True, check=False, env=env
    )


def _closed(tmp_path: Path, clone_url: Path | str) -> Path:
    event = tmp_path / "closed.json"
    body: dict[str, Any] = {
        "action": "closed",
        "number": 7,
        "pull_request": {"head": {"sha": SHA}, "base": {"ref": "develop"}},
        "repository": {"clone_url": str(clone_url), "full_name": "acme/monorepo"},
    }
    event.write_text(json.dumps(body))
    return event


def test_preview_teardown_of_a_private_monorepo_with_the_default_config_repo(tmp_path: Path) -> None:
    """The monorepo is private (served only with credentials, by git's own HTTP server) and shipyard.yaml names
    no config repo, so the pipelines use the conventional one on GitHub. GitHub is not reachable here: git's
    ``url.<base>.insteadOf`` sends that URL to a local bare repository, as a mirror would."""
    from shipyard.scaffold.init import InitOptions, init

    acme = tmp_path / "acme"
    init(InitOptions(directory=acme, org="acme", domain="acme.example.com", registry="harbor.acme.example.com"))
    assert "config:" not in (acme / "shipyard.yaml").read_text()
    assert _shipyard(acme, "ci", "render").returncode == 0
    config = tmp_path / "gitops-config.git"
    subprocess.run(["git", "init", "-q", "--bare", "--initial-branch=main", str(config)], check=True)
    up = _shipyard(acme, "preview", "up", "--pr", "7", "--sha", SHA, "--config-repo", str(config))
    assert up.returncode == 0, up.stderr
    served = tmp_path / "served"
    subprocess.run(["git", "clone", "-q", "--bare", str(acme), str(served / "monorepo.git")], check=True)
    server = GitHttpServer(served, "ci", "s3cret-git").start()
    try:
        credentials = tmp_path / "git-credentials"
        credentials.mkdir()
        (credentials / ".git-credentials").write_text(f"http://ci:s3cret-git@{server.url.split('://')[1]}\n")
        env = dict(os.environ)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # the steps call `shipyard`
        env["GIT_CONFIG_GLOBAL"] = str(tmp_path / "user.gitconfig")
        env["GIT_TERMINAL_PROMPT"] = "0"
        count = int(env.get("GIT_CONFIG_COUNT", "0"))
        env |= {
            "GIT_CONFIG_COUNT": str(count + 1),
            f"GIT_CONFIG_KEY_{count}": f"url.{config}.insteadOf",
            f"GIT_CONFIG_VALUE_{count}": "https://github.com/acme/gitops-config.git",
        }
        event = _closed(tmp_path, f"{server.url}/monorepo.git")

        def run(creds: Path) -> subprocess.CompletedProcess[str]:
            return _shipyard(
                acme,
                "ci",
                "run",
                str(event),
                "--event-type",
                "pull_request",
                "--workspace",
                f"git-credentials={creds}",
                "--workdir",
                str(tmp_path / "runs"),
                "--json",
                env=env,
            )

        anonymous = tmp_path / "no-credentials"
        anonymous.mkdir()
        refused = run(anonymous)
        assert refused.returncode == 1 and "could not read Username" in refused.stderr, refused.stderr
        assert server.refused > 0 and server.served == 0
        assert "pr-7" in _previews(config)

        result = run(credentials)
        assert result.returncode == 0, result.stderr
        assert server.served > 0
    finally:
        server.stop()
    data = json.loads(result.stdout)
    (run_,) = data["pipelineRuns"]
    assert (run_["pipeline"], run_["status"], data["signatureChecked"]) == ("preview-teardown", "Succeeded", False)
    assert [(t["name"], t["status"]) for t in run_["tasks"]] == [("clone", "Succeeded"), ("preview", "Succeeded")]
    home = Path(run_["directory"]) / "tasks" / f"{run_['name']}-preview" / "home" / ".gitconfig"
    assert "credential" in home.read_text()
    assert "pr-7" not in _previews(config)
    assert "image harbor.acme.example.com/base-images/shipyard" in result.stderr
    assert "securityContext.fsGroup: 1000" in result.stderr  # the podTemplate, accepted and not applied here


def _previews(config: Path) -> str:
    return subprocess.run(
        ["git", "-C", str(config), "ls-tree", "--name-only", "main", "previews/"], capture_output=True, text=True
    ).stdout


def test_exit_codes_failure_ignored_and_bad_input(acme: Path, tmp_path: Path) -> None:
    assert _shipyard(acme, "ci", "render").returncode == 0
    credentials = tmp_path / "creds"
    credentials.mkdir()
    event = _closed(tmp_path, tmp_path / "no-such-repo")
    common = ["--workspace", f"git-credentials={credentials}", "--workdir", str(tmp_path / "runs")]

    failed = _shipyard(acme, "ci", "run", str(event), *common)
    assert failed.returncode == 1, failed.stderr
    assert "PipelineRun was stopping" in failed.stdout and "Failed" in failed.stdout
    assert "does not appear to be a git repository" in failed.stderr  # the end of the failed step's log

    missing = _shipyard(acme, "ci", "run", str(event), "--workdir", str(tmp_path / "runs"))
    assert missing.returncode == 2 and "--workspace git-credentials=DIR" in missing.stderr

    opened = tmp_path / "labeled.json"
    opened.write_text(json.dumps({"action": "labeled", "number": 1, "pull_request": {}, "repository": {}}))
    ignored = _shipyard(acme, "ci", "run", str(opened), "--json")
    assert ignored.returncode == 0 and json.loads(ignored.stdout)["ignored"].startswith("pull_request action")

    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    signature = sign(event.read_bytes(), b"s3cret")
    planned = _shipyard(
        acme,
        "ci",
        "run",
        str(event),
        *common,
        "--signature",
        signature,
        "--secret-file",
        str(secret),
        "--dry-run",
        "--json",
    )
    assert planned.returncode == 0, planned.stderr
    plan = json.loads(planned.stdout)
    assert plan["signatureChecked"] and plan["pipelineRuns"][0]["parallelLevels"] == [["clone"], ["preview"]]
    assert not (tmp_path / "runs").joinpath(plan["pipelineRuns"][0]["name"]).exists()
    forged = _shipyard(
        acme, "ci", "run", str(event), *common, "--signature", "sha256=" + "0" * 64, "--secret-file", str(secret)
    )
    assert forged.returncode == 2 and "does not match" in forged.stderr


def test_prepare_refuses_an_unknown_workspace_name(tmp_path: Path) -> None:
    body = {"action": "closed", "number": 1, "repository": {"clone_url": "u", "full_name": "o/r"}}
    with pytest.raises(TektonInputError, match="no Pipeline declares it"):
        prepare(load_catalog(GOLDEN), "pull_request", body, {}, tmp_path, {"sorce": tmp_path}, signature_checked=False)
