"""``shipyard promote`` and ``rollback`` on a platform that runs on a cluster: after the commit, Argo CD is asked to
sync the stage's Applications through the Kubernetes API, and the command reports what it asked and what the
cluster answered. The config repo is real git; the Kubernetes API and Argo CD's application controller are
the loopback stand-in of ``tests.argocdapi`` (no API server can run here), reached through a kubeconfig."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from shipyard.cli.main import main
from shipyard.git import Git
from shipyard.k8s.api import KubeApi
from shipyard.k8s.kubeconfig import load_connection
from shipyard.promotion.argocd_sync import MARKER, ArgoCDSync
from tests.argocdapi import application, argocd_standin

pytestmark = pytest.mark.integration

TOKEN = "argocd-cluster-token-0123456789"
A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def on_a_cluster(acme: Path) -> Path:
    """The scaffold's platform as one Argo CD deploys: its spec names no local config repo (so the config repo
    is the org's GitHub one, which Argo CD reads); the commands are pointed at the local bare copy."""
    spec = acme / "shipyard.yaml"
    spec.write_text(spec.read_text().replace("  config: .shipyard/gitops-config.git\n", ""))
    return acme / ".shipyard" / "gitops-config.git"


def kubeconfig(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "platform", "cluster": {"server": url}}],
                "users": [{"name": "ops", "user": {"token": TOKEN}}],
                "contexts": [{"name": "platform", "context": {"cluster": "platform", "user": "ops"}}],
                "current-context": "platform",
            }
        )
    )
    return path


def test_promote_and_rollback_ask_argo_cd_and_report_its_answer(
    acme: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPYARD_APPROVER", "Dana")
    bare = on_a_cluster(acme)
    common = ("--root", str(acme), "--config-repo", str(bare))
    for version, digest in (("v1.2.0-beta.1", A), ("v1.2.0-beta.2", B)):
        code, _, err = run(capsys, "freight", "add", "--version", version, "--image", f"user-service={digest}", *common)
        assert code == 0, err
    apps = [application("user-service-uat")]
    with argocd_standin(bare, TOKEN, apps) as argocd:
        cluster = ("--kubeconfig", str(kubeconfig(tmp_path, argocd.url)))
        code, out, err = run(
            capsys, "promote", "--version", "v1.2.0-beta.1", "--to", "uat", "--approve", *common, *cluster, "--json"
        )
        assert code == 0, err
        (move,) = json.loads(out)["moves"]
        (answer,) = move["sync"]
        tip = Git(bare).rev_parse("main")
        assert (answer["application"], answer["phase"], answer["revision"]) == ("user-service-uat", "Succeeded", tip)
        assert answer["holdsCommit"] is True and answer["ok"] is True
        assert answer["asked"]["initiatedBy"] == {"username": "Dana"}
        assert {"name": MARKER, "value": move["commit"]} in answer["asked"]["info"]
        # The Application's own sync options and retry, no revision: Argo CD resolves main when it syncs.
        assert answer["asked"]["sync"] == {"syncOptions": ["CreateNamespace=true"]}
        assert answer["asked"]["retry"] == {"limit": 5}
        (name, patch), *_ = argocd.patches
        assert name == "user-service-uat" and patch["status"] == {"operationState": None}
        assert patch["metadata"]["annotations"] == {"argocd.argoproj.io/refresh": "hard"}

        run(capsys, "promote", "--version", "v1.2.0-beta.2", "--to", "uat", "--approve", *common, *cluster)
        argocd.outcome["user-service-uat"] = "Failed"
        code, out, err = run(capsys, "rollback", "--env", "uat", *common, *cluster)
        assert code == 1
        assert "asked Argo CD to sync user-service-uat; Argo CD user-service-uat: Failed" in out
        assert "the commit is pushed, but Argo CD did not deploy it" in err
        assert Git(bare).run("log", "-1", "--format=%s", "main").startswith("Roll back uat to v1.2.0-beta.1")


def test_a_platform_without_a_cluster_asks_nothing(acme: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = ("--root", str(acme))
    run(capsys, "freight", "add", "--version", "v1.2.0-alpha.20261125100000", "--image", f"user-service={A}", *root)
    code, out, _ = run(capsys, "promote", "--auto", *root, "--json")
    assert code == 0 and [m["sync"] for m in json.loads(out)["moves"]] == [[], []]
    code, _, err = run(capsys, "rollback", "--env", "dev", "--kubeconfig", "/nonexistent", *root)
    assert code == 2 and "local path no cluster reads" in err


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def test_a_running_operation_is_waited_for_and_a_silent_one_times_out(acme: Path, tmp_path: Path) -> None:
    bare = on_a_cluster(acme)
    busy: dict[str, Any] = {"initiatedBy": {"automated": True}, "sync": {}}
    apps = [application("user-service-dev", automated=True, operation=busy), application("user-service-staging")]
    with argocd_standin(bare, TOKEN, apps) as argocd:
        sleeps = Sleeps()
        sync = ArgoCDSync(KubeApi(load_connection(kubeconfig(tmp_path, argocd.url))), sleep=sleeps)
        answer = sync.sync("user-service-dev", "test", "marker-1")
        assert answer.phase == "Succeeded" and len(argocd.patches) == 1  # asked once, after the automated sync
        assert len(sleeps) >= 2

        times = iter(range(0, 10_000, 100))
        late = ArgoCDSync(sync.api, timeout=150, sleep=sleeps, clock=lambda: float(next(times)))
        argocd.apps["user-service-staging"]["operation"] = busy
        argocd.apps["user-service-staging"]["status"]["operationState"] = {"phase": "Running", "operation": busy}
        argocd.outcome["user-service-staging"] = "Running"  # never ends
        waited = late.sync("user-service-staging", "test", "marker-2")
        assert (waited.phase, waited.ok) == ("Waiting", False) and "still running" in waited.message
