"""``sandbox reset --if-expired --cluster``, the rendered TTL check: once the config repo holds the new sandbox,
the sandbox on the cluster is reset too. The config repo is real git; the Kubernetes API is a loopback
stand-in (no API server can run here) that answers the calls the command makes as the API server does:
Deployments and Rollouts listed by label selector and merge-patched, the database CronJob read and a Job
created from it (409 when it exists)."""

from __future__ import annotations

import json
import subprocess
import sys
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from shipyard.k8s.jobaccess import calls_of
from tests.localhttp import serve, stop

pytestmark = pytest.mark.integration

TOKEN = "sandbox-reset-token-0123456789"
MANAGED = {"app.kubernetes.io/managed-by": "shipyard"}


class Cluster(BaseHTTPRequestHandler):
    objects: ClassVar[dict[str, dict[str, Any]]] = {}
    calls: ClassVar[list[tuple[str, str, Any]]] = []

    def _answer(self, code: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        return json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    def _authorized(self) -> bool:
        if self.headers.get("Authorization") == f"Bearer {TOKEN}":
            return True
        self._answer(401, {"kind": "Status", "reason": "Unauthorized"})
        return False

    def do_GET(self) -> None:
        if not self._authorized():
            return
        parts = urlsplit(self.path)
        Cluster.calls.append(("GET", parts.path, parse_qs(parts.query)))
        if parts.path in Cluster.objects:
            self._answer(200, Cluster.objects[parts.path])
            return
        selector = parse_qs(parts.query).get("labelSelector", [""])[0]
        key, _, value = selector.partition("=")
        items = [
            obj
            for path, obj in Cluster.objects.items()
            if path.startswith(parts.path + "/") and obj["metadata"].get("labels", {}).get(key) == value
        ]
        if parts.path.endswith(("/deployments", "/rollouts")):
            self._answer(200, {"items": items, "metadata": {}})
        else:
            self._answer(404, {"kind": "Status", "reason": "NotFound"})

    def do_PATCH(self) -> None:
        if not self._authorized():
            return
        assert self.headers.get("Content-Type") == "application/merge-patch+json"
        Cluster.calls.append(("PATCH", self.path, self._body()))
        self._answer(200, Cluster.objects[self.path])

    def do_POST(self) -> None:
        if not self._authorized():
            return
        body = self._body()
        Cluster.calls.append(("POST", self.path, body))
        path = f"{self.path}/{body['metadata']['name']}"
        if path in Cluster.objects:
            self._answer(409, {"kind": "Status", "reason": "AlreadyExists"})
            return
        Cluster.objects[path] = body
        self._answer(201, body)

    def log_message(self, *_: object) -> None:
        pass


def resource_and_verb(method: str, path: str) -> tuple[str, str]:
    """The RBAC resource and verb of a call: a list or create names the collection, a get or patch an item."""
    parts = path.split("/")
    if method == "POST":
        return parts[-1], "create"
    if method == "PATCH":
        return parts[-2], "patch"
    return (parts[-1], "list") if parts[-1] in ("deployments", "rollouts") else (parts[-2], "get")


def workload(kind: str, name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"kind": kind, "metadata": {"name": name, "namespace": "sandbox", "labels": labels}}


def test_the_ttl_check_resets_the_sandbox_on_the_cluster(acme: Path, tmp_path: Path) -> None:
    render = subprocess.run(
        [sys.executable, "-m", "shipyard", "render", "--commit"], cwd=acme, capture_output=True, text=True
    )
    assert render.returncode == 0, render.stderr
    Cluster.calls.clear()
    Cluster.objects = {
        "/apis/apps/v1/namespaces/sandbox/deployments/user-service": workload("Deployment", "user-service", MANAGED),
        # Made by hand in the sandbox: not Shipyard's, left alone.
        "/apis/apps/v1/namespaces/sandbox/deployments/scratch": workload("Deployment", "scratch", {}),
        "/apis/argoproj.io/v1alpha1/namespaces/sandbox/rollouts/payment-service": workload(
            "Rollout", "payment-service", MANAGED
        ),
        "/apis/batch/v1/namespaces/shipyard-system/cronjobs/sandbox-db-synth": {
            "kind": "CronJob",
            "metadata": {"name": "sandbox-db-synth", "uid": "uid-synth"},
            "spec": {
                "suspend": True,
                "jobTemplate": {
                    "metadata": {"labels": {"app.kubernetes.io/name": "sandbox-db-synth"}},
                    "spec": {"template": {"spec": {"containers": [{"name": "synth"}]}}},
                },
            },
        },
    }
    server = serve(Cluster)
    try:
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(
            yaml.safe_dump(
                {
                    "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{server.server_address[1]}"}}],
                    "users": [{"name": "u", "user": {"token": TOKEN}}],
                    "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                    "current-context": "c",
                }
            )
        )
        args = ["sandbox", "reset", "--if-expired", "--cluster", "--database-job", "sandbox-db-synth"]
        proc = subprocess.run(
            [sys.executable, "-m", "shipyard", *args, "--kubeconfig", str(kubeconfig), "--json"],
            cwd=acme,
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, proc.stderr
        result = json.loads(proc.stdout)
        assert result["commit"] and result["cluster"]["restarted"] == [
            "Deployment/user-service",
            "Rollout/payment-service",
        ]
        patches = {path: body for method, path, body in Cluster.calls if method == "PATCH"}
        stamp = patches["/apis/apps/v1/namespaces/sandbox/deployments/user-service"]["spec"]["template"]["metadata"][
            "annotations"
        ]["kubectl.kubernetes.io/restartedAt"]
        assert patches["/apis/argoproj.io/v1alpha1/namespaces/sandbox/rollouts/payment-service"] == {
            "spec": {"restartAt": stamp}
        }
        (job,) = [body for method, _, body in Cluster.calls if method == "POST"]
        assert job["metadata"]["name"].startswith("sandbox-db-synth-")
        assert job["metadata"]["ownerReferences"][0]["uid"] == "uid-synth"
        assert job["spec"] == {"template": {"spec": {"containers": [{"name": "synth"}]}}}

        # Every call is one the rendered Role grants for this command (shipyard.k8s.jobaccess).
        granted = {(c.resource, verb) for c in calls_of(args) for verb in c.verbs}
        made = {resource_and_verb(method, path) for method, path, _ in Cluster.calls}
        assert made <= granted

        # The next check, minutes later, finds the TTL running: nothing changes, in git or on the cluster.
        Cluster.calls.clear()
        again = subprocess.run(
            [sys.executable, "-m", "shipyard", *args, "--kubeconfig", str(kubeconfig), "--json"],
            cwd=acme,
            capture_output=True,
            text=True,
        )
        assert again.returncode == 0 and json.loads(again.stdout)["cluster"] is None
        assert Cluster.calls == []
    finally:
        stop(server)
