"""Asking Argo CD to sync an Application, through the Kubernetes API, and waiting for its answer.

uat, preprod and production do not sync by themselves, so a promotion or rollback made here is only a commit
until something asks Argo CD to deploy it. Kargo's ``argocd-update`` step asks by writing the Application's
``operation`` field through the Kubernetes API (``pkg/promotion/runner/builtin/argocd_updater.go``), which is
also what Argo CD's own API server does for ``argocd app sync`` (``util/argo.SetAppOperation``): refuse while
another operation is set, write the operation and clear ``status.operationState``, retry on a conflict. The
application controller runs the operation and records the outcome in ``status.operationState``. The local
``argocd-update`` step does the same, so a promotion here and one Kargo runs end alike:

- the operation carries no revision, so the controller resolves the Application's ``targetRevision`` (the
  config repo's branch) when it syncs, after the push; its sync options and retry are the Application's own;
- ``info`` names Shipyard's reason and a marker (the promotion's commit), by which the outcome is told apart
  from any other operation's; ``initiatedBy`` is the person who promoted (not automated, so sync windows
  apply), and a hard refresh is asked for as Kargo does;
- an operation already running (an automated sync of dev or staging, say) is waited for, not overwritten.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from shipyard.configrepo.location import is_remote
from shipyard.errors import ShipyardError
from shipyard.k8s.api import KubeApi, KubeError
from shipyard.k8s.argocd import ARGOCD_NAMESPACE
from shipyard.spec.model import Platform

MARKER = "shipyard.dev/promotion"
REFRESH = "argocd.argoproj.io/refresh"
COMPLETED = ("Succeeded", "Failed", "Error")
DEFAULT_TIMEOUT = 300.0
POLL = 2.0
_CONFLICTS = 5


def describes_cluster(platform: Platform) -> bool:
    """True when Argo CD deploys this platform: its config repo (``repos.config``, default the org's GitHub
    repository) is one Argo CD can read. A config repo that is a path on this machine (the embedded default)
    is read by no cluster, so there is no Argo CD to ask."""
    return platform.repos.config is None or is_remote(platform.repos.config)


@dataclass(frozen=True)
class SyncAnswer:
    """One sync asked of Argo CD: what was asked, and what the cluster answered."""

    application: str
    asked: dict[str, Any]
    phase: str
    message: str
    revision: str | None
    holds_commit: bool | None = None
    """Whether the synced revision contains the promotion's commit (None: not known)."""

    @property
    def ok(self) -> bool:
        """Argo CD synced, and what it synced holds the promotion."""
        return self.phase == "Succeeded" and self.holds_commit is not False

    def to_json(self) -> dict[str, Any]:
        """As JSON (see docs/promotion.md)."""
        return {
            "application": self.application,
            "asked": self.asked,
            "phase": self.phase,
            "message": self.message,
            "revision": self.revision,
            "holdsCommit": self.holds_commit,
            "ok": self.ok,
        }

    def line(self) -> str:
        """One line for people."""
        at = f" at {self.revision[:12]}" if self.revision else ""
        message = f": {self.message}" if self.message else ""
        return f"Argo CD {self.application}: {self.phase}{at}{message}"


@dataclass
class ArgoCDSync:
    """Argo CD's Applications, reached through the Kubernetes API of the cluster Argo CD runs in."""

    api: KubeApi
    actor: str = "shipyard"
    namespace: str = ARGOCD_NAMESPACE
    timeout: float = DEFAULT_TIMEOUT
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    def _path(self, app: str) -> str:
        return f"/apis/argoproj.io/v1alpha1/namespaces/{quote(self.namespace)}/applications/{quote(app)}"

    def _get(self, app: str) -> dict[str, Any]:
        response = self.api.request("GET", self._path(app))
        if response.status_code == 404:
            raise KubeError(
                f"Argo CD has no Application {app} in namespace {self.namespace}",
                status=404,
                hint="apply the rendered argocd/ folder (the app-of-apps) first",
            )
        if response.status_code != 200:
            raise KubeApi.refusal(f"reading Application {app}", response)
        data = response.json()
        if not isinstance(data, dict):
            raise KubeError(f"Kubernetes API: Application {app} is not an object")
        return data

    def _wait(self, app: str, done: Callable[[dict[str, Any]], bool], deadline: float) -> dict[str, Any] | None:
        """The Application once ``done`` says so, None when the deadline passes first."""
        while True:
            data = self._get(app)
            if done(data):
                return data
            if self.clock() >= deadline:
                return None
            self.sleep(POLL)

    def sync(self, app: str, reason: str, marker: str) -> SyncAnswer:
        """Ask Argo CD to sync ``app`` and wait (up to ``timeout``) for the operation to end."""
        deadline = self.clock() + self.timeout
        for _ in range(_CONFLICTS):
            data = self._wait(app, lambda d: not _busy(d), deadline)
            if data is None:
                return SyncAnswer(app, {}, "Waiting", "another operation was still running", None)
            operation = _operation(data, self.actor, reason, marker)
            patch = {
                "metadata": {
                    "resourceVersion": (data.get("metadata") or {}).get("resourceVersion"),
                    "annotations": {REFRESH: "hard"},
                },
                "operation": operation,
                "status": {"operationState": None},
            }
            response = self.api.request(
                "PATCH", self._path(app), body=patch, content_type="application/merge-patch+json"
            )
            if response.status_code == 409:
                continue  # someone changed the Application since we read it: read it again
            if response.status_code != 200:
                raise KubeApi.refusal(f"asking Argo CD to sync {app}", response)
            break
        else:
            raise ShipyardError(f"Application {app} changed under every attempt to ask for a sync")
        answered = self._wait(app, lambda d: _outcome(d, marker) is not None, deadline)
        if answered is None:
            return SyncAnswer(app, operation, "Running", f"no answer within {self.timeout:.0f} s", None)
        phase, message, revision = _outcome(answered, marker) or ("", "", None)
        return SyncAnswer(app, operation, phase, message, revision)


def _busy(app: dict[str, Any]) -> bool:
    """An operation is set, or one is still running: Argo CD would refuse (or lose) another."""
    if app.get("operation"):
        return True
    state = (app.get("status") or {}).get("operationState") or {}
    return state.get("phase") in ("Running", "Terminating")


def _operation(app: dict[str, Any], actor: str, reason: str, marker: str) -> dict[str, Any]:
    policy = (app.get("spec") or {}).get("syncPolicy") or {}
    sync: dict[str, Any] = {}
    if policy.get("syncOptions"):
        sync["syncOptions"] = list(policy["syncOptions"])
    operation: dict[str, Any] = {
        "initiatedBy": {"username": actor},
        "info": [{"name": "Reason", "value": reason}, {"name": MARKER, "value": marker}],
        "sync": sync,
    }
    if policy.get("retry"):
        operation["retry"] = policy["retry"]
    return operation


def _outcome(app: dict[str, Any], marker: str) -> tuple[str, str, str | None] | None:
    """(phase, message, synced revision) of our operation once it has ended; None before."""
    state = (app.get("status") or {}).get("operationState") or {}
    info = ((state.get("operation") or {}).get("info")) or []
    ours = any(isinstance(i, dict) and i.get("name") == MARKER and i.get("value") == marker for i in info)
    if not ours or state.get("phase") not in COMPLETED:
        return None
    revision = (state.get("syncResult") or {}).get("revision")
    return str(state["phase"]), str(state.get("message") or ""), str(revision) if revision else None
