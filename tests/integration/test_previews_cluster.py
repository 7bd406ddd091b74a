"""``preview gc --cluster`` and ``preview db-secret``: namespaces and Secrets through Shipyard's Kubernetes
API client, its kubeconfig reader and its in-cluster credentials.

No Kubernetes API server can run here (it needs etcd and a container runtime), so these tests stand in
for one: a small HTTP server on 127.0.0.1 (plain, or TLS with certificates from a throwaway CA) that
answers the four calls Shipyard makes the way the API server does: ``GET /api/v1/namespaces`` in pages
joined by ``continue`` tokens, ``DELETE`` of a namespace with preconditions on uid and resourceVersion
(409 on a mismatch), and reading and creating a Secret (409 when it exists). The documents it serves
have the API's JSON shape (``kubectl get namespaces -o json``).
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

from shipyard.errors import ShipyardError
from shipyard.k8s.api import KubeApi, KubeError
from shipyard.k8s.kubeconfig import Connection, KubeconfigError, load_connection
from shipyard.previews.cluster import candidates_from_list, cluster_gc, ensure_db_secret, list_namespaces
from shipyard.previews.gc import plan_orphans
from shipyard.previews.marks import NamePattern, protected_namespaces
from shipyard.previews.render import PreviewRequest
from shipyard.previews.repo import preview_up
from shipyard.spec.loader import load_spec
from shipyard.spec.model import Platform
from tests.localhttp import serve, stop
from tests.tlsparts import Authority, serve_tls

pytestmark = pytest.mark.integration

NOW = datetime(2024, 11, 21, tzinfo=UTC)
TOKEN = "kube-test-token-0123456789"


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def namespace(
    name: str,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    phase: str = "Active",
) -> dict[str, Any]:
    """A Namespace as the API server returns it (uid, resourceVersion, the automatic name label)."""
    metadata: dict[str, Any] = {
        "name": name,
        "uid": f"uid-{name}",
        "resourceVersion": str(1000 + len(name)),
        "creationTimestamp": "2024-11-20T00:00:00Z",
        "labels": {"kubernetes.io/metadata.name": name, **(labels or {})},
    }
    if annotations:
        metadata["annotations"] = annotations
    return {"metadata": metadata, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": phase}}


def preview_namespace(number: int, **overrides: str) -> dict[str, Any]:
    annotations = {
        "shipyard.dev/managed-by": "shipyard",
        "shipyard.dev/pr-number": str(number),
        "shipyard.dev/created-at": "2024-11-20T00:00:00Z",
        "shipyard.dev/ttl": "7d",
        **overrides,
    }
    return namespace(f"pr-{number}", {"shipyard.dev/preview": "true"}, annotations)


def namespace_list(items: list[dict[str, Any]], continue_token: str | None = None) -> dict[str, Any]:
    """A NamespaceList in the API's JSON."""
    metadata: dict[str, Any] = {"resourceVersion": "5000"}
    if continue_token:
        metadata["continue"] = continue_token
    return {"kind": "NamespaceList", "apiVersion": "v1", "metadata": metadata, "items": items}


def cluster_items() -> list[dict[str, Any]]:
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


class ApiServerStandIn(BaseHTTPRequestHandler):
    """Answers the calls Shipyard makes as the Kubernetes API server does; ``refusals`` are answered first."""

    pages: ClassVar[dict[str, dict[str, Any]]] = {}
    deletes: ClassVar[list[tuple[str, dict[str, Any]]]] = []
    live: ClassVar[dict[str, dict[str, Any]]] = {}
    secrets: ClassVar[dict[str, dict[str, Any]]] = {}
    refusals: ClassVar[list[tuple[int, dict[str, str]]]] = []
    seen: ClassVar[list[tuple[str, str, str | None]]] = []  # method, path with query, Authorization

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _refused(self) -> bool:
        type(self).seen.append((self.command, self.path, self.headers.get("Authorization")))
        if not self.refusals:
            return False
        status, headers = self.refusals.pop(0)
        self._send(status, {"kind": "Status", "code": status, "message": "refused by the test"}, headers)
        return True

    def _body(self) -> dict[str, Any]:
        return dict(json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}"))

    def do_GET(self) -> None:
        if self._refused():
            return
        url = urlsplit(self.path)
        if "/secrets/" in url.path:
            secret = self.secrets.get(url.path)
            self._send(200, secret) if secret else self._send(404, {"kind": "Status", "code": 404})
        elif url.path != "/api/v1/namespaces":
            self._send(404, {"kind": "Status", "code": 404})
        else:
            token = parse_qs(url.query).get("continue", [""])[0]
            self._send(200, self.pages[token])

    def do_POST(self) -> None:
        body = self._body()
        if self._refused():
            return
        key = f"{urlsplit(self.path).path}/{body['metadata']['name']}"
        if key in self.secrets:
            self._send(409, {"kind": "Status", "code": 409, "reason": "AlreadyExists"})
            return
        self.secrets[key] = body
        self._send(201, body)

    def do_DELETE(self) -> None:
        body = self._body()
        if self._refused():
            return
        name = urlsplit(self.path).path.rsplit("/", 1)[-1]
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


def stand_in() -> type[ApiServerStandIn]:
    """A fresh stand-in class: two pages of namespaces joined by a continue token, as the API pages a long list."""
    items = cluster_items()
    live = {i["metadata"]["name"]: i for i in items}
    # pr-3 was re-created since it was listed: a delete pinned to the old object must be refused.
    live["pr-3"] = {**items[6], "metadata": {**items[6]["metadata"], "uid": "uid-recreated"}}
    state = {
        "pages": {"": namespace_list(items[:5], "after-5"), "after-5": namespace_list(items[5:])},
        "deletes": [],
        "live": live,
        "secrets": {},
        "refusals": [],
        "seen": [],
    }
    return type("Handler", (ApiServerStandIn,), state)


@pytest.fixture
def api_server() -> Iterator[tuple[str, type[ApiServerStandIn]]]:
    handler = stand_in()
    server = serve(handler)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        stop(server)


def client_for(url: str, sleeps: Sleeps | None = None) -> KubeApi:
    return KubeApi(Connection(url, "the test's API server"), sleep=sleeps if sleeps is not None else Sleeps())


def test_the_client_lists_every_page(api_server: tuple[str, type[ApiServerStandIn]]) -> None:
    url, handler = api_server
    with client_for(url) as client:
        names = [c.name for c in list_namespaces(client)]
    assert names == [i["metadata"]["name"] for i in cluster_items()]
    assert [path for _, path, _ in handler.seen] == [
        "/api/v1/namespaces?limit=500",
        "/api/v1/namespaces?limit=500&continue=after-5",
    ]


def test_an_api_error_stops_the_run_instead_of_guessing(api_server: tuple[str, type[ApiServerStandIn]]) -> None:
    url, handler = api_server
    handler.refusals += [(403, {})]
    with client_for(url) as client, pytest.raises(ShipyardError, match="listing namespaces failed: HTTP 403") as caught:
        list(list_namespaces(client))
    assert "RBAC" in str(caught.value) and len(handler.seen) == 1


def test_rate_limits_and_outages_are_retried(api_server: tuple[str, type[ApiServerStandIn]]) -> None:
    url, handler = api_server
    handler.refusals += [(429, {"Retry-After": "1"}), (503, {}), (504, {})]
    sleeps = Sleeps()
    with client_for(url, sleeps) as client:
        assert len(list(list_namespaces(client))) == len(cluster_items())
    assert len(sleeps) == 3 and sleeps[0] == 1.0
    handler.refusals += [(503, {})] * 6
    with client_for(url) as client, pytest.raises(KubeError, match=r"HTTP 503.*failed after 6 attempts"):
        list(list_namespaces(client))


def test_a_continue_token_that_repeats_is_stopped(api_server: tuple[str, type[ApiServerStandIn]]) -> None:
    url, handler = api_server
    handler.pages["after-5"] = namespace_list([namespace("loop")], "after-5")  # a server that never ends the list
    with client_for(url) as client, pytest.raises(KubeError, match="the same next page twice"):
        list(list_namespaces(client))
    assert len(handler.seen) == 2  # the repeated token is refused before it is asked for again


@pytest.fixture
def config_remote(acme: Path) -> tuple[str, Platform]:
    """The scaffold's config repo, holding the preview of PR 1 only (orphans need no bases)."""
    platform = load_spec(acme / "shipyard.yaml")
    remote = str(acme / ".shipyard" / "gitops-config.git")
    request = PreviewRequest(number=1, sha="a" * 40, services=("user-service",))
    preview_up(remote, platform, request, datetime(2024, 11, 20, tzinfo=UTC), dry_run=False)
    return remote, platform


def test_cluster_gc_reports_then_deletes_orphans_pinned_to_what_it_read(
    api_server: tuple[str, type[ApiServerStandIn]], config_remote: tuple[str, Platform]
) -> None:
    url, handler = api_server
    remote, platform = config_remote
    with client_for(url) as client:
        outcome = cluster_gc(client, remote, platform, NOW, max_deletions=5, delete_orphans=False, dry_run=False)
        assert [d.name for d in outcome.report.delete] == ["pr-2", "pr-3"] and not outcome.deleted
        assert handler.deletes == [], "without --delete-orphans nothing is deleted"
        events: list[tuple[str, int, int | None]] = []
        outcome = cluster_gc(
            client,
            remote,
            platform,
            NOW,
            max_deletions=5,
            delete_orphans=True,
            dry_run=False,
            progress=lambda *e: events.append(e),
        )
    listed = [e for e in events if e[0] == "read namespaces"]
    assert listed and listed[-1][1] == len(listed) and {e[2] for e in listed} == {None}  # the total is not known
    assert [e for e in events if e[0] == "delete namespaces"] == [("delete namespaces", n, 2) for n in range(3)]
    assert [(d.name, d.ok) for d in outcome.deleted] == [("pr-2", True), ("pr-3", False)]
    assert "changed since it was read" in outcome.deleted[1].detail
    assert [name for name, _ in handler.deletes] == ["pr-2", "pr-3"]
    assert handler.deletes[0][1]["preconditions"] == {"uid": "uid-pr-2", "resourceVersion": "1004"}


def write_kubeconfig(folder: Path, url: str, user: dict[str, Any] | None = None, **cluster: Any) -> Path:
    kubeconfig = folder / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "local", "cluster": {"server": url, **cluster}}],
                "users": [{"name": "me", "user": user or {}}],
                "contexts": [{"name": "local", "context": {"cluster": "local", "user": "me"}}],
                "current-context": "local",
            }
        )
    )
    return kubeconfig


def test_cluster_gc_through_the_cli_with_a_kubeconfig(
    api_server: tuple[str, type[ApiServerStandIn]], config_remote: tuple[str, Platform], acme: Path, tmp_path: Path
) -> None:
    url, handler = api_server
    kubeconfig = write_kubeconfig(tmp_path, url, {"token": TOKEN})
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
    assert {auth for _, _, auth in handler.seen} == {f"Bearer {TOKEN}"}


def test_the_database_secret_is_created_once_with_a_random_password(
    api_server: tuple[str, type[ApiServerStandIn]],
) -> None:
    url, handler = api_server
    with client_for(url) as client:
        assert ensure_db_secret(client, "pr-42", "preview-db", "preview", "app") is True
        assert ensure_db_secret(client, "pr-42", "preview-db", "preview", "app") is False
        assert ensure_db_secret(client, "pr-43", "preview-db", "preview", "app") is True
    first = handler.secrets["/api/v1/namespaces/pr-42/secrets/preview-db"]
    second = handler.secrets["/api/v1/namespaces/pr-43/secrets/preview-db"]["stringData"]
    assert first["kind"] == "Secret" and first["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "shipyard"}
    assert first["stringData"]["username"] == "preview" and first["stringData"]["database"] == "app"
    assert len(first["stringData"]["password"]) == 64 and first["stringData"]["password"] != second["password"]


def test_a_secret_post_that_may_have_landed_is_not_sent_twice(api_server: tuple[str, type[ApiServerStandIn]]) -> None:
    url, handler = api_server
    handler.refusals += [(404, {}), (502, {})]  # the read finds nothing; the create's answer is lost at a gateway
    with client_for(url) as client, pytest.raises(KubeError, match="creating secret pr-9/preview-db failed: HTTP 502"):
        ensure_db_secret(client, "pr-9", "preview-db", "preview", "app")
    assert [method for method, _, _ in handler.seen] == ["GET", "POST"]


def test_the_jobs_command_through_the_cli(api_server: tuple[str, type[ApiServerStandIn]], tmp_path: Path) -> None:
    url, handler = api_server
    kubeconfig = write_kubeconfig(tmp_path, url)
    # The Job runs it in the preview's namespace, where there is no shipyard.yaml: it must not need one.
    args = ["preview", "db-secret", "--namespace=pr-7", "--kubeconfig", str(kubeconfig)]
    proc = subprocess.run([sys.executable, "-m", "shipyard", *args], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "secret pr-7/preview-db: created"
    assert list(handler.secrets) == ["/api/v1/namespaces/pr-7/secrets/preview-db"]


# -- TLS, client certificates, in-cluster credentials and exec plugins, against an HTTPS stand-in ----------


@pytest.fixture(scope="module")
def authority() -> Authority:
    return Authority()


@contextmanager
def tls_stand_in(authority: Authority, *, client_certificates: bool) -> Iterator[tuple[int, type[ApiServerStandIn]]]:
    """The stand-in over TLS, its certificate for 127.0.0.1 and kubernetes.default.svc signed by ``authority``."""
    handler = stand_in()
    certificate = authority.issue("kube-apiserver", dns=("kubernetes.default.svc",), ips=("127.0.0.1",))
    server = serve_tls(handler, certificate, client_ca=authority if client_certificates else None)
    try:
        yield server.server_address[1], handler
    finally:
        stop(server)


@pytest.fixture
def tls_server(authority: Authority) -> Iterator[tuple[int, type[ApiServerStandIn]]]:
    """An API server that also asks for a client certificate signed by the cluster's CA."""
    with tls_stand_in(authority, client_certificates=True) as running:
        yield running


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_tls_with_the_clusters_ca_and_a_client_certificate(
    authority: Authority, tls_server: tuple[int, type[ApiServerStandIn]], tmp_path: Path
) -> None:
    port, handler = tls_server
    me = authority.issue("shipyard", client=True)
    user = {"client-certificate-data": _b64(me.cert), "client-key-data": _b64(me.key)}
    kubeconfig = write_kubeconfig(
        tmp_path, f"https://127.0.0.1:{port}", user, **{"certificate-authority-data": _b64(authority.pem)}
    )
    with KubeApi(load_connection(kubeconfig), sleep=Sleeps()) as client:
        assert len(list(list_namespaces(client))) == len(cluster_items())
    assert len(handler.seen) == 2
    assert not list(tmp_path.glob("shipyard-kube-*")), "no key file is left behind"


def test_tls_refuses_a_server_the_clusters_ca_did_not_sign(
    tls_server: tuple[int, type[ApiServerStandIn]], tmp_path: Path
) -> None:
    port, handler = tls_server
    stranger = Authority("another-ca")
    kubeconfig = write_kubeconfig(
        tmp_path, f"https://127.0.0.1:{port}", {"token": TOKEN}, **{"certificate-authority-data": _b64(stranger.pem)}
    )
    with (
        KubeApi(load_connection(kubeconfig), sleep=Sleeps()) as client,
        pytest.raises(KubeError, match="certificate cannot be verified"),
    ):
        list(list_namespaces(client))
    assert handler.seen == [], "the token never reached a server we could not verify"


def test_a_ca_file_beside_the_kubeconfig_and_tls_server_name(
    authority: Authority, tls_server: tuple[int, type[ApiServerStandIn]], tmp_path: Path
) -> None:
    port, handler = tls_server
    (tmp_path / "ca.crt").write_bytes(authority.pem)
    me = authority.issue("shipyard", client=True)
    (tmp_path / "me.crt").write_bytes(me.cert)
    (tmp_path / "me.key").write_bytes(me.key)
    user = {"client-certificate": "me.crt", "client-key": "me.key"}  # relative to the kubeconfig's folder
    kubeconfig = write_kubeconfig(
        tmp_path,
        f"https://localhost:{port}",  # not a name on the certificate: tls-server-name gives the one to check
        user,
        **{"certificate-authority": "ca.crt", "tls-server-name": "kubernetes.default.svc"},
    )
    with KubeApi(load_connection(kubeconfig, "local"), sleep=Sleeps()) as client:
        assert ensure_db_secret(client, "pr-1", "preview-db", "preview", "app") is True
    assert handler.secrets


def test_in_cluster_credentials_from_the_service_account(authority: Authority, tmp_path: Path) -> None:
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(TOKEN + "\n")
    (account / "ca.crt").write_bytes(authority.pem)
    with tls_stand_in(authority, client_certificates=False) as (port, handler):
        env = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(port)}
        connection = load_connection(environ=env, service_account=account)
        assert connection.server == f"https://127.0.0.1:{port}" and "service account" in connection.source
        with KubeApi(connection, sleep=Sleeps()) as client:
            assert len(list(list_namespaces(client))) == len(cluster_items())
    assert {auth for _, _, auth in handler.seen} == {f"Bearer {TOKEN}"}
    # Given a kubeconfig, the pod's own account is not used.
    kubeconfig = write_kubeconfig(tmp_path, "http://127.0.0.1:1", {"token": "other"})
    assert load_connection(kubeconfig, environ=env, service_account=account).source.startswith("context 'local'")


def test_an_exec_credential_plugin_supplies_the_token(
    api_server: tuple[str, type[ApiServerStandIn]], tmp_path: Path
) -> None:
    url, handler = api_server
    plugin = tmp_path / "bin" / "get-token"
    plugin.parent.mkdir()
    plugin.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        "info = json.loads(os.environ['KUBERNETES_EXEC_INFO'])\n"
        "assert info['spec']['interactive'] is False and sys.argv[1:] == ['--cluster', 'local']\n"
        "print(json.dumps({'apiVersion': info['apiVersion'], 'kind': 'ExecCredential',\n"
        "                  'status': {'token': os.environ['PLUGIN_TOKEN']}}))\n"
    )
    plugin.chmod(plugin.stat().st_mode | stat.S_IEXEC)
    exec_spec = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": "bin/get-token",  # relative to the kubeconfig's folder, as kubectl resolves it
        "args": ["--cluster", "local"],
        "env": [{"name": "PLUGIN_TOKEN", "value": "from-the-plugin"}],
        "interactiveMode": "Never",
    }
    kubeconfig = write_kubeconfig(tmp_path, url, {"exec": exec_spec})
    with KubeApi(load_connection(kubeconfig), sleep=Sleeps()) as client:
        list(list_namespaces(client))
    assert {auth for _, _, auth in handler.seen} == {"Bearer from-the-plugin"}

    failing = write_kubeconfig(tmp_path, url, {"exec": {**exec_spec, "command": "false", "args": []}})
    with pytest.raises(KubeconfigError, match="exec plugin 'false' failed"):
        load_connection(failing)
    missing = write_kubeconfig(tmp_path, url, {"exec": {**exec_spec, "command": "no-such-plugin", "installHint": "x"}})
    with pytest.raises(KubeconfigError, match="not installed"):
        load_connection(missing)
    assert os.environ.get("PLUGIN_TOKEN") is None, "the plugin's environment stays the plugin's"
