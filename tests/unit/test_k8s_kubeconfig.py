"""Reading kubeconfig files as kubectl does, and refusing what would change who we are without saying so.

Connections to real TLS and plain servers, in-cluster credentials and exec plugins are tested in
tests/integration/test_previews_cluster.py; these are about the files alone.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest

from shipyard.k8s.kubeconfig import KubeconfigError, from_kubeconfig, load_connection


def kubeconfig(
    path: Path,
    *,
    clusters: dict[str, dict[str, Any]] | None = None,
    users: dict[str, dict[str, Any]] | None = None,
    contexts: dict[str, tuple[str, str]] | None = None,
    current: str | None = "dev",
) -> Path:
    document: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": n, "cluster": c} for n, c in (clusters or {}).items()],
        "users": [{"name": n, "user": u} for n, u in (users or {}).items()],
        "contexts": [{"name": n, "context": {"cluster": c, "user": u}} for n, (c, u) in (contexts or {}).items()],
    }
    if current:
        document["current-context"] = current
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path


def simple(
    path: Path,
    server: str = "http://127.0.0.1:6443",
    user: dict[str, Any] | None = None,
    cluster: dict[str, Any] | None = None,
) -> Path:
    return kubeconfig(
        path,
        clusters={"dev": {"server": server, **(cluster or {})}},
        users={"me": user or {}},
        contexts={"dev": ("dev", "me")},
    )


def test_the_current_context_its_server_and_token(tmp_path: Path) -> None:
    connection = from_kubeconfig([simple(tmp_path / "config", user={"token": "t0k3n"})])
    assert connection.server == "http://127.0.0.1:6443"
    assert connection.headers == {"Authorization": "Bearer t0k3n"}
    assert "context 'dev'" in connection.source and "t0k3n" not in repr(connection)


def test_a_named_context_and_a_token_file_relative_to_the_kubeconfig(tmp_path: Path) -> None:
    path = kubeconfig(
        tmp_path / "kube" / "config",
        clusters={"dev": {"server": "http://127.0.0.1:1"}, "prod": {"server": "http://127.0.0.1:2"}},
        users={"me": {"tokenFile": "token.txt"}},
        contexts={"dev": ("dev", "me"), "prod": ("prod", "me")},
    )
    (tmp_path / "kube" / "token.txt").write_text("from-file\n")
    connection = from_kubeconfig([path], "prod")
    assert connection.server == "http://127.0.0.1:2" and connection.headers["Authorization"] == "Bearer from-file"


def test_kubeconfig_list_merges_with_the_first_file_winning(tmp_path: Path) -> None:
    first = kubeconfig(tmp_path / "a", clusters={"dev": {"server": "http://127.0.0.1:1"}}, current="dev")
    second = kubeconfig(
        tmp_path / "b",
        clusters={"dev": {"server": "http://127.0.0.1:9"}},
        users={"me": {"username": "u", "password": "p"}},
        contexts={"dev": ("dev", "me")},
        current="other",
    )
    env = {"KUBECONFIG": os.pathsep.join([str(first), str(tmp_path / "missing"), str(second)])}
    connection = load_connection(environ=env)
    assert connection.server == "http://127.0.0.1:1"  # the first file's cluster "dev"
    assert connection.headers["Authorization"] == "Basic " + base64.b64encode(b"u:p").decode()


def test_the_default_file_is_under_home(tmp_path: Path) -> None:
    simple(tmp_path / ".kube" / "config")
    assert load_connection(environ={"HOME": str(tmp_path)}).server == "http://127.0.0.1:6443"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: kubeconfig(p, current=None), "sets no current-context"),
        (lambda p: kubeconfig(p, contexts={"x": ("dev", "me")}), "no context 'dev' \\(contexts: x\\)"),
        (lambda p: kubeconfig(p, contexts={"dev": ("nowhere", "me")}), "names cluster 'nowhere'"),
        (
            lambda p: kubeconfig(p, clusters={"dev": {"server": "http://127.0.0.1:1"}}, contexts={"dev": ("dev", "x")}),
            "names user 'x'",
        ),
        (lambda p: simple(p, server="127.0.0.1:6443"), "is not an http\\(s\\) URL"),
        (lambda p: simple(p, server="http://10.0.0.1:8080", user={"token": "t"}), "refusing to send credentials"),
        (lambda p: simple(p, user={"auth-provider": {"name": "gcp"}}), "auth-provider is not supported"),
        (lambda p: simple(p, user={"as": "admin", "token": "t"}), "as is not supported"),
        (lambda p: simple(p, cluster={"proxy-url": "http://proxy:3128"}), "proxy-url is not supported"),
        (lambda p: simple(p, user={"token": "t", "username": "u", "password": "p"}), "both a token and a username"),
        (lambda p: simple(p, user={"client-certificate-data": "QUJD"}), "needs its key"),
        (lambda p: simple(p, user={"client-key-data": "not base64!"}), "client-key-data is not base64"),
        (
            lambda p: simple(
                p, "https://k:6443", cluster={"insecure-skip-tls-verify": True, "certificate-authority-data": "QUJD"}
            ),
            "contradict",
        ),
        (lambda p: simple(p, "https://k:6443", cluster={"certificate-authority-data": "QUJD"}), "cannot be loaded"),
        (lambda p: simple(p, user={"exec": {"apiVersion": "v0", "command": "x"}}), "apiVersion 'v0'"),
    ],
)
def test_what_is_missing_or_not_understood_is_refused(tmp_path: Path, change: Any, message: str) -> None:
    path = change(tmp_path / "config")
    with pytest.raises(KubeconfigError, match=message) as caught:
        from_kubeconfig([path])
    assert caught.value.hint


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError, match=r"the kubeconfig .*absent: cannot read"):
        from_kubeconfig([tmp_path / "absent"])
    (tmp_path / "bad").write_text("clusters: [unclosed")
    with pytest.raises(KubeconfigError, match="not valid YAML"):
        from_kubeconfig([tmp_path / "bad"])
    (tmp_path / "list").write_text("- a\n")
    with pytest.raises(KubeconfigError, match="not a kubeconfig"):
        from_kubeconfig([tmp_path / "list"])
    with pytest.raises(KubeconfigError, match="none of the kubeconfig files"):
        load_connection(environ={"KUBECONFIG": os.pathsep.join([str(tmp_path / "x"), str(tmp_path / "y")])})


def test_outside_a_pod_the_service_account_is_not_looked_for(tmp_path: Path) -> None:
    account = tmp_path / "sa"
    account.mkdir()
    (account / "token").write_text("pod-token")
    simple(tmp_path / ".kube" / "config")
    # A token file alone is not a pod: without KUBERNETES_SERVICE_HOST the kubeconfig is used.
    connection = load_connection(environ={"HOME": str(tmp_path)}, service_account=account)
    assert connection.source.startswith("context 'dev'")
    inside = load_connection(
        environ={"HOME": str(tmp_path), "KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"},
        service_account=account,
    )
    assert inside.server == "https://10.0.0.1:443" and inside.headers["Authorization"] == "Bearer pod-token"


def test_a_kubeconfig_is_read_within_bounds(tmp_path: Path) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8)
    )
    (tmp_path / "bomb").write_text(bomb)
    with pytest.raises(KubeconfigError, match="values"):
        from_kubeconfig([tmp_path / "bomb"])
    (tmp_path / "deep").write_text("[" * 5000 + "]" * 5000)
    with pytest.raises(KubeconfigError, match=r"nesting depth|deeper than"):
        from_kubeconfig([tmp_path / "deep"])
    (tmp_path / "big").write_text("# " + "x" * (2 << 20))
    with pytest.raises(KubeconfigError, match="larger than"):
        from_kubeconfig([tmp_path / "big"])


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("t0k3n\nInjected: header", "line break"),
        ("t0\rk3n", "line break"),
        ("tök3n", "non-ASCII"),
    ],
)
def test_a_token_that_would_split_a_header_is_refused_unshown(tmp_path: Path, token: str, message: str) -> None:
    with pytest.raises(KubeconfigError, match=message) as inline:
        from_kubeconfig([simple(tmp_path / "config", user={"token": token})])
    (tmp_path / "token").write_text(token + "\n")
    with pytest.raises(KubeconfigError, match=message) as from_file:
        from_kubeconfig([simple(tmp_path / "config2", user={"tokenFile": str(tmp_path / "token")})])
    for caught in (inline, from_file):
        assert "t0k3n" not in str(caught.value) and "tök3n" not in str(caught.value)


def test_a_token_file_that_never_ends_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError, match="larger than"):
        from_kubeconfig([simple(tmp_path / "config", user={"tokenFile": "/dev/zero"})])
