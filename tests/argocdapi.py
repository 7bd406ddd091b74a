"""A stand-in for the Kubernetes API of the cluster Argo CD runs in, with a stand-in application controller.

No Kubernetes API server (nor Argo CD) can run here: it needs etcd, a container runtime and the controllers.
So this loopback HTTP server answers the calls a sync request makes the way the API server does, and plays
the part of Argo CD's application controller the way ``controller/appcontroller.go`` does:

- ``GET`` and ``PATCH`` (``application/merge-patch+json``, RFC 7386) of
  ``/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/<name>``, with ``resourceVersion`` checked on a
  patch that carries one (409 Conflict otherwise), a Bearer token required (401), and 404 for an unknown name;
- the controller: an Application whose ``operation`` is set gets ``status.operationState`` with phase
  ``Running`` and the operation at the next read; at the read after that the operation has ended (phase
  ``Succeeded``, or the phase given for that Application), its ``syncResult.revision`` is the config repo's
  branch tip at that moment (read with real git, as Argo CD resolves the ``targetRevision``), and
  ``operation`` is cleared.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from tests.localhttp import serve, stop

PREFIX = "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, null removes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


@dataclass
class ArgoCD:
    url: str
    apps: dict[str, dict[str, Any]]
    patches: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    outcome: dict[str, str] = field(default_factory=dict)
    """Application -> the phase its operations end in (default Succeeded)."""


def application(name: str, *, automated: bool = False, operation: dict[str, Any] | None = None) -> dict[str, Any]:
    """An Application as the API server returns it."""
    policy: dict[str, Any] = {"syncOptions": ["CreateNamespace=true"], "retry": {"limit": 5}}
    if automated:
        policy["automated"] = {"prune": True, "selfHeal": True}
    app: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd", "resourceVersion": "1"},
        "spec": {"source": {"targetRevision": "main", "path": f"overlays/{name}"}, "syncPolicy": policy},
        "status": {},
    }
    if operation is not None:
        app["operation"] = operation
    return app


@contextmanager
def argocd_standin(config_repo: Path, token: str, apps: list[dict[str, Any]]) -> Iterator[ArgoCD]:
    lock = threading.Lock()
    state = ArgoCD(url="", apps={a["metadata"]["name"]: a for a in apps})

    def tip() -> str | None:
        found = subprocess.run(
            ["git", "-C", str(config_repo), "rev-parse", "--verify", "--quiet", "main"], capture_output=True, text=True
        )
        return found.stdout.strip() or None

    def bump(app: dict[str, Any]) -> None:
        app["metadata"]["resourceVersion"] = str(int(app["metadata"]["resourceVersion"]) + 1)

    def control(app: dict[str, Any]) -> None:
        """One step of the application controller."""
        status = app.setdefault("status", {})
        current = status.get("operationState") or {}
        if app.get("operation") and current.get("phase") != "Running":
            status["operationState"] = {"operation": app["operation"], "phase": "Running", "message": "syncing"}
            bump(app)
        elif current.get("phase") == "Running":
            phase = state.outcome.get(app["metadata"]["name"], "Succeeded")
            revision = tip()
            current.update(
                phase=phase,
                message="successfully synced (all tasks run)" if phase == "Succeeded" else "one or more objects failed",
                syncResult={"revision": revision},
            )
            status["sync"] = {"status": "Synced", "revision": revision}
            app.pop("operation", None)
            bump(app)

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, code: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _app(self) -> dict[str, Any] | None:
            if self.headers.get("Authorization") != f"Bearer {token}":
                self._answer(401, {"kind": "Status", "reason": "Unauthorized", "message": "Unauthorized"})
                return None
            name = self.path.removeprefix(PREFIX) if self.path.startswith(PREFIX) else ""
            app = state.apps.get(name)
            if app is None:
                self._answer(404, {"kind": "Status", "reason": "NotFound", "message": f"{name} not found"})
            return app

        def do_GET(self) -> None:
            with lock:
                app = self._app()
                if app is not None:
                    control(app)
                    self._answer(200, app)

        def do_PATCH(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            with lock:
                app = self._app()
                if app is None:
                    return
                if self.headers.get("Content-Type") != "application/merge-patch+json":
                    self._answer(415, {"kind": "Status", "reason": "UnsupportedMediaType"})
                    return
                wanted = (body.get("metadata") or {}).get("resourceVersion")
                if wanted is not None and wanted != app["metadata"]["resourceVersion"]:
                    self._answer(
                        409, {"kind": "Status", "reason": "Conflict", "message": "the object has been modified"}
                    )
                    return
                state.patches.append((app["metadata"]["name"], body))
                patched = merge_patch(app, body)
                app.clear()
                app.update(patched)
                bump(app)
                self._answer(200, app)

        def log_message(self, *_: object) -> None:
            pass

    server = serve(Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        stop(server)
