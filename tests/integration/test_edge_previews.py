"""Previews under careless and hostile input: nothing live is deleted, nothing is pushed before every input
is checked, and numbers and names stay within what Kubernetes and git accept.

No Kubernetes API server can run here: ``preview gc --cluster`` talks to a tiny HTTP server on 127.0.0.1
that answers a NamespaceList the way the API server does and records every DELETE, reached through a
kubeconfig as a user would. The config repos and pushes are real git.
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

import pytest

from shipyard.previews.gc import Candidate, NoPreviewsTree, plan_orphans
from shipyard.previews.marks import NamePattern, protected_namespaces

pytestmark = pytest.mark.integration

SHA = "0123456789abcdef0123456789abcdef01234567"
MARKS = {
    "shipyard.dev/managed-by": "shipyard",
    "shipyard.dev/created-at": "2024-11-20T00:00:00Z",
    "shipyard.dev/ttl": "7d",
}


def shipyard(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shipyard", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=120
    )


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True).stdout


def live_preview(number: int) -> dict[str, Any]:
    """A preview namespace with all of Shipyard's marks, as the API server returns it."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": f"pr-{number}",
            "uid": f"uid-{number}",
            "resourceVersion": str(100 + number),
            "labels": {"shipyard.dev/preview": "true", "kubernetes.io/metadata.name": f"pr-{number}"},
            "annotations": {**MARKS, "shipyard.dev/pr-number": str(number)},
        },
        "status": {"phase": "Active"},
    }


class ApiServer(BaseHTTPRequestHandler):
    """Lists the live previews and records deletes (it deletes nothing)."""

    items: ClassVar[list[dict[str, Any]]] = []
    deletes: ClassVar[list[str]] = []

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
        self._send(200, {"apiVersion": "v1", "kind": "NamespaceList", "metadata": {}, "items": self.items})

    def do_DELETE(self) -> None:
        type(self).deletes.append(self.path)
        self._send(200, {"kind": "Status", "status": "Success"})


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[Path, type[ApiServer]]]:
    """A kubeconfig for an API server holding the live previews of PRs 1 to 5."""
    handler = type("Handler", (ApiServer,), {"items": [live_preview(n) for n in range(1, 6)], "deletes": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{server.server_address[1]}"}}],
                "users": [{"name": "u", "user": {}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
            }
        )
    )
    try:
        yield kubeconfig, handler
    finally:
        server.shutdown()
        server.server_close()


def gc_cluster(acme: Path, kubeconfig: Path, config_repo: Path | str) -> subprocess.CompletedProcess[str]:
    return shipyard(
        acme,
        *("preview", "gc", "--cluster", "--delete-orphans", "--kubeconfig", str(kubeconfig)),
        *("--config-repo", str(config_repo), "--max-deletions", "100"),
    )


def test_an_empty_config_repo_deletes_no_live_preview(
    acme: Path, tmp_path: Path, cluster: tuple[Path, type[ApiServer]]
) -> None:
    kubeconfig, handler = cluster
    empty = tmp_path / "empty.git"
    git(tmp_path, "init", "--quiet", "--bare", str(empty))
    proc = gc_cluster(acme, kubeconfig, empty)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "no previews/ folder on its branch (or no branch at all)" in proc.stderr
    assert "Traceback" not in proc.stderr and handler.deletes == []


def test_a_config_repo_without_the_branch_or_the_previews_tree_deletes_nothing(
    acme: Path, tmp_path: Path, cluster: tuple[Path, type[ApiServer]]
) -> None:
    kubeconfig, handler = cluster
    # The scaffold's config repo, where no preview was ever opened.
    proc = gc_cluster(acme, kubeconfig, acme / ".shipyard" / "gitops-config.git")
    assert proc.returncode == 2 and "no previews/ folder" in proc.stderr, proc.stderr
    # Another repository's branch (the app repo itself): no previews/ either.
    other = tmp_path / "other.git"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(other))
    git(acme, "push", "--quiet", str(other), "HEAD:refs/heads/main")
    proc = gc_cluster(acme, kubeconfig, other)
    assert proc.returncode == 2 and "no previews/ folder" in proc.stderr, proc.stderr
    assert handler.deletes == []


def test_with_previews_committed_only_marked_orphans_go_and_the_cap_holds(
    acme: Path, cluster: tuple[Path, type[ApiServer]]
) -> None:
    kubeconfig, handler = cluster
    config = acme / ".shipyard" / "gitops-config.git"
    assert shipyard(acme, "preview", "up", "--pr", "1", "--sha", SHA).returncode == 0
    handler.items.append({**live_preview(6), "metadata": {**live_preview(6)["metadata"], "annotations": {}}})
    proc = shipyard(
        acme,
        *("preview", "gc", "--cluster", "--delete-orphans", "--kubeconfig", str(kubeconfig)),
        *("--config-repo", str(config), "--max-deletions", "2", "--json"),
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [d["name"] for d in data["delete"]] == ["pr-2", "pr-3"]
    assert [d["name"] for d in data["deferred"]] == ["pr-4", "pr-5"]
    assert "pr-1" in data["kept"] and "pr-6" in {s["name"] for s in data["skipped"]}
    assert [path.rsplit("/", 1)[-1] for path in handler.deletes] == ["pr-2", "pr-3"]


def test_the_orphan_decision_refuses_without_the_config_repos_side() -> None:
    namespace = live_preview(7)["metadata"]
    candidate = Candidate(
        namespace["name"], namespace["labels"], namespace["annotations"], uid="u", resource_version="1"
    )
    with pytest.raises(NoPreviewsTree):
        plan_orphans(
            [candidate],
            None,
            now=datetime(2024, 11, 21, tzinfo=UTC),
            max_deletions=10,
            protected=protected_namespaces([]),
            names=NamePattern(),
        )


# everything is checked before the first push


def config_tip(acme: Path) -> str:
    """Every ref of the config repo and its commit: equal before and after means nothing was pushed."""
    return git(acme / ".shipyard" / "gitops-config.git", "for-each-ref")


@pytest.mark.parametrize("repo", ["tidewater", "acme/", "/app", "acme/../x", "acme/app?x=1", "ac me/app"])
def test_preview_up_and_down_check_the_repository_before_pushing(acme: Path, tmp_path: Path, repo: str) -> None:
    token = tmp_path / "token"
    token.write_text("ghp_0123456789\n")
    before = config_tip(acme)
    up = shipyard(
        acme, "preview", "up", "--pr", "7", "--sha", SHA, "--comment", "--repo", repo, "--token-file", str(token)
    )
    assert up.returncode == 2 and "is not a GitHub repository" in up.stderr, up.stderr
    assert config_tip(acme) == before, "nothing was pushed"
    assert shipyard(acme, "preview", "up", "--pr", "7", "--sha", SHA).returncode == 0
    after_up = config_tip(acme)
    down = shipyard(acme, "preview", "down", "--pr", "7", "--comment", "--repo", repo, "--token-file", str(token))
    assert down.returncode == 2 and "is not a GitHub repository" in down.stderr, down.stderr
    assert config_tip(acme) == after_up, "nothing was pushed"


def test_preview_up_checks_the_token_and_api_before_pushing(acme: Path, tmp_path: Path) -> None:
    before = config_tip(acme)
    token = tmp_path / "token"
    token.write_text("ghp_0123456789\nsecond line\n")
    proc = shipyard(
        acme, "preview", "up", "--pr", "7", "--sha", SHA, "--comment", "--repo", "a/b", "--token-file", str(token)
    )
    assert proc.returncode == 2 and "line break" in proc.stderr and "ghp_0123456789" not in proc.stderr
    proc = shipyard(
        acme, "preview", "up", "--pr", "7", "--sha", SHA, "--comment", "--repo", "a/b", "--token-file", str(token),
        "--api-url", "http://github.example.com",
    )  # fmt: skip
    assert proc.returncode == 2
    token.write_text("ghp_0123456789\n")
    proc = shipyard(
        acme, "preview", "up", "--pr", "7", "--sha", SHA, "--comment", "--repo", "a/b", "--token-file", str(token),
        "--api-url", "http://github.example.com",
    )  # fmt: skip
    assert proc.returncode == 2 and "--api-url" in proc.stderr, proc.stderr
    assert config_tip(acme) == before


@pytest.mark.parametrize("number", ["0", "-1", "2147483648", "9" * 70])
def test_pr_numbers_out_of_range_are_refused_by_every_preview_command(acme: Path, number: str) -> None:
    before = config_tip(acme)
    for args in (["up", "--pr", number, "--sha", SHA], ["down", "--pr", number]):
        proc = shipyard(acme, "preview", *args)
        assert proc.returncode == 2, proc.stderr
        assert "not a pull request number" in proc.stderr and "Traceback" not in proc.stderr
    assert config_tip(acme) == before


def test_the_largest_pr_number_makes_a_namespace_down_and_gc_can_remove(acme: Path) -> None:
    number = str(2**31 - 1)
    up = shipyard(acme, "preview", "up", "--pr", number, "--sha", SHA, "--now", "2024-11-14T00:00:00Z", "--json")
    assert up.returncode == 0, up.stderr
    assert len(json.loads(up.stdout)["namespace"]) <= 63
    gc = shipyard(acme, "preview", "gc", "--now", "2024-12-01T00:00:00Z", "--json")
    assert [d["name"] for d in json.loads(gc.stdout)["delete"]] == [f"pr-{number}"]


def test_a_huge_namespace_yaml_in_the_config_repo_is_skipped_not_read(acme: Path, tmp_path: Path) -> None:
    config = acme / ".shipyard" / "gitops-config.git"
    work = tmp_path / "work"
    git(tmp_path, "clone", "--quiet", str(config), str(work))
    (work / "previews" / "pr-9").mkdir(parents=True)
    (work / "previews" / "pr-9" / "namespace.yaml").write_text("a: " + "x" * (2 * 1024 * 1024) + "\n")
    git(work, "add", "-A")
    git(work, "-c", "user.name=t", "-c", "user.email=t@x", "commit", "--quiet", "-m", "big")
    git(work, "push", "--quiet", "origin", "HEAD:main")
    gc = shipyard(acme, "preview", "gc", "--now", "2030-01-01T00:00:00Z", "--json", "--dry-run")
    assert gc.returncode == 0, gc.stderr
    skipped = {s["name"]: s["reason"] for s in json.loads(gc.stdout)["skipped"]}
    assert "no readable namespace.yaml" in skipped["pr-9"]
