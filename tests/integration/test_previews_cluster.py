"""``preview gc --cluster``: orphan preview namespaces, read and deleted through the official Kubernetes client.

No Kubernetes API server can run here, so these tests say so and use the closest real things: the
NamespaceList documents are built with the official client's own models and serialised by its ApiClient
(the API's JSON shape), and the client's calls go through a real kubernetes ApiClient to a tiny HTTP
server on 127.0.0.1 answering ``/api/v1/namespaces`` (paged, with ``continue``) and namespace deletes the
way the API server does (preconditions on uid and resourceVersion, 409 on a mismatch).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
from kubernetes.client import (
    ApiClient,
    Configuration,
    V1ListMeta,
    V1Namespace,
    V1NamespaceList,
    V1NamespaceSpec,
    V1NamespaceStatus,
    V1ObjectMeta,
)

from shipyard.errors import ShipyardError
from shipyard.previews.cluster import candidates_from_list, cluster_gc, ensure_db_secret, list_namespaces
from shipyard.previews.gc import plan_orphans
from shipyard.previews.marks import NamePattern, protected_namespaces
from shipyard.previews.render import PreviewRequest
from shipyard.previews.repo import preview_up
from shipyard.spec.loader import load_spec
from shipyard.spec.model import Platform

pytestmark = pytest.mark.integration

NOW = datetime(2024, 11, 21, tzinfo=UTC)
CREATED = datetime(2024, 11, 20, tzinfo=UTC)


def namespace(
    name: str,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    phase: str = "Active",
) -> V1Namespace:
    """A Namespace as the API server returns it (uid, resourceVersion, the automatic name label)."""
    return V1Namespace(
        api_version="v1",
        kind="Namespace",
        metadata=V1ObjectMeta(
            name=name,
            uid=f"uid-{name}",
            resource_version=str(1000 + len(name)),
            creation_timestamp=CREATED,
            labels={"kubernetes.io/metadata.name": name, **(labels or {})},
            annotations=annotations,
        ),
        spec=V1NamespaceSpec(finalizers=["kubernetes"]),
        status=V1NamespaceStatus(phase=phase),
    )


def preview_namespace(number: int, **overrides: str) -> V1Namespace:
    annotations = {
        "shipyard.dev/managed-by": "shipyard",
        "shipyard.dev/pr-number": str(number),
        "shipyard.dev/created-at": "2024-11-20T00:00:00Z",
        "shipyard.dev/ttl": "7d",
        **overrides,
    }
    return namespace(f"pr-{number}", {"shipyard.dev/preview": "true"}, annotations)


def namespace_list(items: list[V1Namespace], continue_token: str | None = None) -> dict[str, Any]:
    """A NamespaceList in the API's JSON, serialised by the official client."""
    document = V1NamespaceList(
        api_version="v1", kind="NamespaceList", items=items, metadata=V1ListMeta(resource_version="5000")
    )
    data: dict[str, Any] = ApiClient().sanitize_for_serialization(document)
    if continue_token:
        data["metadata"]["continue"] = continue_token
    return data


def cluster_items() -> list[V1Namespace]:
    return [
        namespace("kube-system"),
        namespace("default"),
        namespace("argocd"),
        namespace("staging", {"shipyard.dev/preview": "true"}, {"shipyard.dev/managed-by": "shipyard"}),
        preview_namespace(1),  # has a directory: kept
        preview_namespace(2),  # orphan
        preview_namespace(3),  # orphan
        preview_namespace(4, **{"shipyard.dev/created-at": "last week"}),  # malformed: left alone
        namespace("pr-5", {"preview": "true"}, {"preview": "true", "pr-number": "5"}),  # the seed's marks only
        namespace("team-payments", {"shipyard.dev/preview": "true"}),
        namespace(
            "pr-6",
            {"shipyard.dev/preview": "true"},
            {"shipyard.dev/managed-by": "shipyard", "shipyard.dev/pr-number": "6"},
            phase="Terminating",
        ),
    ]


def test_orphan_planning_on_a_real_shaped_namespace_list() -> None:
    report = plan_orphans(
        candidates_from_list(namespace_list(cluster_items())),
        {"pr-1"},
        now=NOW,
        max_deletions=1,
        protected=protected_namespaces(["staging"]),
        names=NamePattern(),
    )
    assert [d.name for d in report.delete] == ["pr-2"]
    assert [d.name for d in report.deferred] == ["pr-3"]
    assert report.kept == ["pr-1"]
    skipped = {s.name: s.reason for s in report.skipped}
    assert set(skipped) == {"staging", "pr-4", "pr-5", "team-payments", "pr-6"}
    assert "protected" in skipped["staging"] and "created-at" in skipped["pr-4"]
    assert report.ignored == 3  # kube-system, default, argocd: not previews at all
    assert report.delete[0].candidate.uid == "uid-pr-2"


def test_a_list_without_items_is_an_error_not_an_empty_cluster() -> None:
    with pytest.raises(ShipyardError, match="not a NamespaceList"):
        candidates_from_list({"kind": "Status", "status": "Failure"})


class FakeApiServer(BaseHTTPRequestHandler):
    """Answers the two calls the clean-up makes, as the Kubernetes API server does."""

    pages: ClassVar[list[dict[str, Any]]] = []
    deletes: ClassVar[list[tuple[str, dict[str, Any]]]] = []
    live: ClassVar[dict[str, dict[str, Any]]] = {}
    secrets: ClassVar[dict[str, dict[str, Any]]] = {}
    fail_list: ClassVar[bool] = False

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if "/secrets/" in url.path:
            secret = self.secrets.get(url.path)
            self._send(200, secret) if secret else self._send(404, {"kind": "Status", "code": 404})
        elif url.path != "/api/v1/namespaces":
            self._send(404, {"kind": "Status", "code": 404})
        elif self.fail_list:
            self._send(503, {"kind": "Status", "code": 503, "message": "etcd is unhappy"})
        else:
            token = parse_qs(url.query).get("continue", ["0"])[0]
            self._send(200, self.pages[int(token)])

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        key = f"{urlsplit(self.path).path}/{body['metadata']['name']}"
        if key in self.secrets:
            self._send(409, {"kind": "Status", "code": 409, "reason": "AlreadyExists"})
            return
        self.secrets[key] = body
        self._send(201, body)

    def do_DELETE(self) -> None:
        name = urlsplit(self.path).path.rsplit("/", 1)[-1]
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        type(self).deletes.append((name, body))
        current = self.live.get(name)
        if current is None:
            self._send(404, {"kind": "Status", "code": 404, "reason": "NotFound"})
            return
        wanted = body.get("preconditions") or {}
        meta = current["metadata"]
        if wanted.get("uid") != meta["uid"] or wanted.get("resourceVersion") != meta["resourceVersion"]:
            self._send(409, {"kind": "Status", "code": 409, "reason": "Conflict"})
            return
        self._send(200, {**current, "status": {"phase": "Terminating"}})


@pytest.fixture
def api_server() -> Iterator[tuple[str, type[FakeApiServer]]]:
    items = namespace_list(cluster_items())["items"]

    class Handler(FakeApiServer):
        """This test's server: its own class state, so tests never share what the server saw."""

    handler = Handler
    # Two pages, joined by a continue token, as the API server pages a long list.
    handler.pages = [
        namespace_list([], "1") | {"items": items[:5]},
        namespace_list([]) | {"items": items[5:]},
    ]
    handler.deletes = []
    handler.secrets = {}
    handler.live = {i["metadata"]["name"]: i for i in items}
    # pr-3 was re-created since it was listed: a delete pinned to the old object must be refused.
    handler.live["pr-3"] = {**items[6], "metadata": {**items[6]["metadata"], "uid": "uid-recreated"}}
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def client_for(url: str) -> ApiClient:
    configuration = Configuration()
    configuration.host = url
    return ApiClient(configuration)


def test_the_client_lists_every_page(api_server: tuple[str, type[FakeApiServer]]) -> None:
    url, _ = api_server
    with client_for(url) as client:
        names = [c.name for c in list_namespaces(client)]
    assert names == [i["metadata"]["name"] for i in namespace_list(cluster_items())["items"]]


def test_an_api_error_stops_the_run_instead_of_guessing(api_server: tuple[str, type[FakeApiServer]]) -> None:
    url, handler = api_server
    handler.fail_list = True
    with client_for(url) as client, pytest.raises(ShipyardError, match="503"):
        list(list_namespaces(client))


@pytest.fixture
def config_remote(acme: Path) -> tuple[str, Platform]:
    """The scaffold's config repo, holding the preview of PR 1 only (orphans need no bases)."""
    platform = load_spec(acme / "shipyard.yaml")
    remote = str(acme / ".shipyard" / "gitops-config.git")
    request = PreviewRequest(number=1, sha="a" * 40, services=("user-service",))
    preview_up(remote, platform, request, CREATED, dry_run=False)
    return remote, platform


def test_cluster_gc_reports_then_deletes_orphans_pinned_to_what_it_read(
    api_server: tuple[str, type[FakeApiServer]], config_remote: tuple[str, Platform]
) -> None:
    url, handler = api_server
    remote, platform = config_remote
    with client_for(url) as client:
        outcome = cluster_gc(client, remote, platform, NOW, max_deletions=5, delete_orphans=False, dry_run=False)
        assert [d.name for d in outcome.report.delete] == ["pr-2", "pr-3"] and not outcome.deleted
        assert handler.deletes == [], "without --delete-orphans nothing is deleted"
        outcome = cluster_gc(client, remote, platform, NOW, max_deletions=5, delete_orphans=True, dry_run=False)
    assert [(d.name, d.ok) for d in outcome.deleted] == [("pr-2", True), ("pr-3", False)]
    assert "changed since it was read" in outcome.deleted[1].detail
    assert [name for name, _ in handler.deletes] == ["pr-2", "pr-3"]
    assert handler.deletes[0][1]["preconditions"] == {"uid": "uid-pr-2", "resourceVersion": "1004"}


def write_kubeconfig(folder: Path, url: str) -> Path:
    kubeconfig = folder / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "local", "cluster": {"server": url}}],
                "users": [{"name": "me", "user": {}}],
                "contexts": [{"name": "local", "context": {"cluster": "local", "user": "me"}}],
                "current-context": "local",
            }
        )
    )
    return kubeconfig


def test_cluster_gc_through_the_cli_with_a_kubeconfig(
    api_server: tuple[str, type[FakeApiServer]], config_remote: tuple[str, Platform], acme: Path, tmp_path: Path
) -> None:
    url, handler = api_server
    kubeconfig = write_kubeconfig(tmp_path, url)
    args = ["preview", "gc", "--cluster", "--kubeconfig", str(kubeconfig), "--max-deletions", "1", "--json"]
    proc = subprocess.run(
        [sys.executable, "-m", "shipyard", *args, "--delete-orphans"],
        cwd=acme,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [d["name"] for d in data["delete"]] == ["pr-2"] and [d["name"] for d in data["deferred"]] == ["pr-3"]
    assert data["deleted"] == [{"name": "pr-2", "ok": True, "detail": "deleting"}]
    assert [name for name, _ in handler.deletes] == ["pr-2"]


def test_the_database_secret_is_created_once_with_a_random_password(
    api_server: tuple[str, type[FakeApiServer]],
) -> None:
    url, handler = api_server
    with client_for(url) as client:
        assert ensure_db_secret(client, "pr-42", "preview-db", "preview", "app") is True
        assert ensure_db_secret(client, "pr-42", "preview-db", "preview", "app") is False
        assert ensure_db_secret(client, "pr-43", "preview-db", "preview", "app") is True
    first = handler.secrets["/api/v1/namespaces/pr-42/secrets/preview-db"]["stringData"]
    second = handler.secrets["/api/v1/namespaces/pr-43/secrets/preview-db"]["stringData"]
    assert first["username"] == "preview" and first["database"] == "app"
    assert len(first["password"]) == 64 and first["password"] != second["password"]


def test_the_jobs_command_through_the_cli(api_server: tuple[str, type[FakeApiServer]], tmp_path: Path) -> None:
    url, handler = api_server
    kubeconfig = write_kubeconfig(tmp_path, url)
    # The Job runs it in the preview's namespace, where there is no shipyard.yaml: it must not need one.
    args = ["preview", "db-secret", "--namespace=pr-7", "--kubeconfig", str(kubeconfig)]
    proc = subprocess.run([sys.executable, "-m", "shipyard", *args], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "secret pr-7/preview-db: created"
    assert list(handler.secrets) == ["/api/v1/namespaces/pr-7/secrets/preview-db"]
