"""Where a Kubernetes API server is and how to prove who we are to it: a kubeconfig, or a pod's service account.

What is read, as kubectl reads it:

- files: ``--kubeconfig FILE``, else every file in ``KUBECONFIG`` (merged, the first to name a cluster,
  user or context wins, and the first ``current-context`` set), else ``~/.kube/config``. Relative paths in
  a file are relative to the file's folder;
- the context: ``--context``, else ``current-context``; its ``cluster`` and ``user``;
- the cluster: ``server``, ``certificate-authority`` or ``certificate-authority-data`` (then only that CA
  is trusted), ``insecure-skip-tls-verify``, ``tls-server-name``;
- the user: ``client-certificate(-data)`` with ``client-key(-data)``, ``token`` or ``tokenFile``,
  ``username``/``password``, or an ``exec`` credential plugin (``client.authentication.k8s.io`` v1 or
  v1beta1: its token or client certificate);
- in a pod (no ``--kubeconfig``/``--context`` given): ``KUBERNETES_SERVICE_HOST``/``_PORT`` and the
  service account's ``token`` and ``ca.crt`` under /var/run/secrets/kubernetes.io/serviceaccount.

Anything that changes who we are and that this reader does not do (``auth-provider``, impersonation,
``proxy-url``) is refused rather than ignored. Credentials are never sent over plain HTTP beyond
loopback. Secrets stay in memory: a client key given as data is written to a private temporary file
only for as long as ``ssl`` takes to load it.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import shutil
import ssl
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from shipyard.bounded import MIB, InputError, load_yaml, parse_json, read_bytes, read_text
from shipyard.errors import ShipyardError
from shipyard.httpcalls import is_loopback
from shipyard.secretfile import MAX_SECRET, SecretError, check_secret, read_secret

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
MAX_KUBECONFIG = MIB
"""A kubeconfig larger than this is refused unread; with its certificates inline it is a few KiB."""
MAX_CERTIFICATE = MAX_SECRET
"""The size limit of a certificate or key file a kubeconfig names."""
EXEC_TIMEOUT = 60.0
_REFUSED_USER_FIELDS = ("auth-provider", "as", "as-uid", "as-groups", "as-user-extra")
_EXEC_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")


class KubeconfigError(ShipyardError):
    """The cluster's connection settings cannot be read or used."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(
            message, hint=hint or "pass --kubeconfig FILE (and --context), or run in a pod with a service account"
        )


@dataclass(frozen=True)
class Connection:
    """An API server's address, the TLS settings to reach it, and the headers that say who we are."""

    server: str
    source: str  # where these settings came from, for messages
    tls: ssl.SSLContext | None = field(default=None, repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    tls_server_name: str | None = None


def load_connection(
    kubeconfig: Path | None = None,
    context: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    service_account: Path = SERVICE_ACCOUNT,
) -> Connection:
    """The connection to use: in a pod the service account (unless a kubeconfig or context is given), else the
    kubeconfig's context. KubeconfigError names what is missing or not understood."""
    env = os.environ if environ is None else environ
    in_a_pod = env.get("KUBERNETES_SERVICE_HOST") and (service_account / "token").is_file()
    if kubeconfig is None and context is None and in_a_pod:
        return in_cluster(env, service_account)
    return from_kubeconfig(_files(kubeconfig, env), context)


def in_cluster(environ: Mapping[str, str], service_account: Path = SERVICE_ACCOUNT) -> Connection:
    """The API server a pod reaches through its service account."""
    host, port = environ.get("KUBERNETES_SERVICE_HOST", ""), environ.get("KUBERNETES_SERVICE_PORT", "443")
    if not host or not port.isdigit():
        raise KubeconfigError("in a pod, but KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are not set")
    token = _secret(service_account / "token", "the service account token")
    ca = service_account / "ca.crt"
    tls = _context(cafile=ca if ca.is_file() else None)
    server = f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"
    return Connection(server, "the pod's service account", tls, {"Authorization": f"Bearer {token}"})


def _files(kubeconfig: Path | None, environ: Mapping[str, str]) -> list[Path]:
    if kubeconfig is not None:
        return [kubeconfig]
    listed = [Path(p) for p in environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    if listed:
        return listed
    return [Path(environ.get("HOME") or Path.home()) / ".kube" / "config"]


def from_kubeconfig(files: list[Path], context: str | None = None) -> Connection:
    """The connection a context of the merged ``files`` describes."""
    merged: dict[str, dict[str, tuple[dict[str, Any], Path]]] = {"clusters": {}, "users": {}, "contexts": {}}
    current: str | None = None
    read_any = False
    for path in files:
        if len(files) > 1 and not path.exists():
            continue  # KUBECONFIG may name files that do not exist yet, as kubectl allows
        document = _load(path)
        read_any = True
        current = current or _text(document.get("current-context"))
        for kind, key in (("clusters", "cluster"), ("users", "user"), ("contexts", "context")):
            entries = document.get(kind) or []
            if not isinstance(entries, list):
                raise KubeconfigError(f"{path}: '{kind}' is not a list")
            for entry in entries:
                name = entry.get("name") if isinstance(entry, dict) else None
                body = entry.get(key) if isinstance(entry, dict) else None
                if isinstance(name, str) and isinstance(body, dict):
                    merged[kind].setdefault(name, (body, path.parent))
    if not read_any:
        raise KubeconfigError("none of the kubeconfig files in KUBECONFIG exists")
    chosen = context or current
    if not chosen:
        raise KubeconfigError(f"{_names(files)} sets no current-context", hint="pass --context NAME")
    if chosen not in merged["contexts"]:
        known = ", ".join(sorted(merged["contexts"])) or "none"
        raise KubeconfigError(f"{_names(files)} has no context '{chosen}' (contexts: {known})")
    ctx, _ = merged["contexts"][chosen]
    cluster_name, user_name = _text(ctx.get("cluster")), _text(ctx.get("user"))
    if not cluster_name or cluster_name not in merged["clusters"]:
        raise KubeconfigError(f"context '{chosen}' names cluster '{cluster_name}', which {_names(files)} lacks")
    cluster, cluster_dir = merged["clusters"][cluster_name]
    user, user_dir = merged["users"].get(user_name or "", ({}, cluster_dir))
    if user_name and user_name not in merged["users"]:
        raise KubeconfigError(f"context '{chosen}' names user '{user_name}', which {_names(files)} lacks")
    return _connection(f"context '{chosen}' of {_names(files)}", cluster, cluster_dir, user, user_dir)


def _connection(
    source: str, cluster: dict[str, Any], cluster_dir: Path, user: dict[str, Any], user_dir: Path
) -> Connection:
    server = _text(cluster.get("server"))
    parts = urlsplit(server or "")
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise KubeconfigError(f"{source}: the cluster's server '{server}' is not an http(s) URL")
    if cluster.get("proxy-url"):
        raise KubeconfigError(f"{source}: proxy-url is not supported", hint="set HTTPS_PROXY instead")
    refused = [key for key in _REFUSED_USER_FIELDS if user.get(key)]
    if refused:
        raise KubeconfigError(
            f"{source}: the user's {', '.join(refused)} is not supported",
            hint="use a token, a client certificate or an exec credential plugin",
        )
    insecure = cluster.get("insecure-skip-tls-verify") is True
    ca_file, ca_data = (
        _path(cluster, "certificate-authority", cluster_dir),
        _data(cluster, "certificate-authority-data"),
    )
    if insecure and (ca_file or ca_data):
        raise KubeconfigError(f"{source}: a certificate authority and insecure-skip-tls-verify contradict each other")

    headers: dict[str, str] = {}
    cert = _data(user, "client-certificate-data") or _file_bytes(_path(user, "client-certificate", user_dir))
    key = _data(user, "client-key-data") or _file_bytes(_path(user, "client-key", user_dir))
    token = _text(user.get("token"))
    if token:
        token = _checked(token, f"{source}: the user's token")
    token_file = _path(user, "tokenFile", user_dir)
    if not token and token_file:
        token = _secret(token_file, "the kubeconfig's tokenFile")
    if isinstance(user.get("exec"), dict):
        granted = _exec(user["exec"], user_dir, source)
        token = granted.get("token") or token
        if granted.get("clientCertificateData") and granted.get("clientKeyData"):
            cert, key = granted["clientCertificateData"].encode(), granted["clientKeyData"].encode()
    username, password = _text(user.get("username")), _text(user.get("password"))
    if token and username:
        raise KubeconfigError(f"{source}: the user has both a token and a username; give one")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    elif username and password is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    if bool(cert) != bool(key):
        raise KubeconfigError(f"{source}: a client certificate needs its key, and a key its certificate")

    if parts.scheme == "http" and not is_loopback(parts.netloc) and (headers or cert):
        raise KubeconfigError(f"{source}: refusing to send credentials over plain HTTP to {parts.hostname}")
    tls = None
    if parts.scheme == "https":
        tls = _context(cafile=ca_file, cadata=ca_data, insecure=insecure, source=source)
        if cert and key:
            _load_client_certificate(tls, cert, key, source)
    return Connection(
        server.rstrip("/") if server else "",
        source,
        tls,
        headers,
        _text(cluster.get("tls-server-name")),
    )


def _context(
    *, cafile: Path | None = None, cadata: bytes | None = None, insecure: bool = False, source: str = ""
) -> ssl.SSLContext:
    try:
        if cafile or cadata:
            # Only the cluster's own CA is trusted, as kubectl does.
            context = ssl.create_default_context(
                cafile=str(cafile) if cafile else None, cadata=cadata.decode() if cadata else None
            )
        else:
            context = ssl.create_default_context()
    except (ssl.SSLError, OSError, UnicodeDecodeError, ValueError) as exc:
        raise KubeconfigError(
            f"{source or 'the cluster'}: its certificate authority cannot be loaded ({exc})"
        ) from None
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _load_client_certificate(context: ssl.SSLContext, cert: bytes, key: bytes, source: str) -> None:
    # ssl loads a certificate chain only from files: write them where only we can read, load, remove.
    folder = Path(tempfile.mkdtemp(prefix="shipyard-kube-"))
    try:
        (folder / "cert.pem").write_bytes(cert)
        key_file = folder / "key.pem"
        key_file.touch(mode=0o600)
        key_file.write_bytes(key)
        context.load_cert_chain(folder / "cert.pem", key_file)
    except (ssl.SSLError, OSError) as exc:
        raise KubeconfigError(f"{source}: the client certificate or key cannot be loaded ({exc})") from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _exec(spec: dict[str, Any], folder: Path, source: str) -> dict[str, str]:
    """Run an exec credential plugin and return its status (``token``, or the client certificate)."""
    version = _text(spec.get("apiVersion"))
    if version not in _EXEC_VERSIONS:
        raise KubeconfigError(f"{source}: exec plugin apiVersion '{version}' is not one of {', '.join(_EXEC_VERSIONS)}")
    command = _text(spec.get("command"))
    if not command:
        raise KubeconfigError(f"{source}: the exec plugin names no command")
    if os.sep in command and not Path(command).is_absolute():
        command = str(folder / command)  # kubectl resolves a relative path against the kubeconfig's folder
    args = spec.get("args") or []
    env = dict(os.environ)
    for entry in spec.get("env") or []:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            env[entry["name"]] = str(entry.get("value", ""))
    env["KUBERNETES_EXEC_INFO"] = json.dumps(
        {"apiVersion": version, "kind": "ExecCredential", "spec": {"interactive": False}}
    )
    try:
        proc = subprocess.run(
            [command, *map(str, args)],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=EXEC_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        hint = _text(spec.get("installHint"))
        raise KubeconfigError(f"{source}: the exec plugin '{command}' is not installed", hint=hint) from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise KubeconfigError(f"{source}: the exec plugin '{command}' could not run ({exc})") from None
    if proc.returncode != 0:
        # Only the first line: a plugin's error output is meant for people, but may go on at length.
        first = (proc.stderr.decode(errors="replace").strip().splitlines() or ["no message"])[0][:200]
        raise KubeconfigError(f"{source}: the exec plugin '{command}' failed (exit {proc.returncode}): {first}")
    try:
        status = parse_json(proc.stdout, f"the exec plugin '{command}''s output", limit=MAX_SECRET).get("status") or {}
    except (InputError, AttributeError):
        status = None
    if not isinstance(status, dict) or not (
        isinstance(status.get("token"), str) or isinstance(status.get("clientKeyData"), str)
    ):
        raise KubeconfigError(f"{source}: the exec plugin '{command}' printed no ExecCredential with a credential")
    return {k: v for k, v in status.items() if isinstance(v, str)}


def _load(path: Path) -> dict[str, Any]:
    text = _read(path, "the kubeconfig")
    try:
        document = load_yaml(text, str(path), limit=MAX_KUBECONFIG)
    except InputError as exc:  # not YAML, too large, too deep, an alias bomb
        raise KubeconfigError(exc.message) from None
    if not isinstance(document, dict):
        raise KubeconfigError(f"{path}: not a kubeconfig (expected a mapping with clusters, users and contexts)")
    return document


def _read(path: Path, what: str) -> str:
    try:
        return read_text(path, MAX_KUBECONFIG, f"{what} {path}")
    except InputError as exc:
        raise KubeconfigError(exc.message) from None


def _secret(path: Path, what: str) -> str:
    """A token from a file, read and checked as every secret file is (``shipyard.secretfile``)."""
    try:
        return read_secret(path, what)
    except SecretError as exc:
        raise KubeconfigError(exc.message) from None


def _checked(value: str, what: str) -> str:
    try:
        return check_secret(value, what)
    except SecretError as exc:
        raise KubeconfigError(exc.message) from None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _path(section: dict[str, Any], key: str, folder: Path) -> Path | None:
    value = _text(section.get(key))
    if value is None:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else folder / path


def _data(section: dict[str, Any], key: str) -> bytes | None:
    value = _text(section.get(key))
    if value is None:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise KubeconfigError(f"the kubeconfig's {key} is not base64") from None


def _file_bytes(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        return read_bytes(path, MAX_CERTIFICATE, str(path))
    except InputError as exc:
        raise KubeconfigError(exc.message) from None


def _names(files: list[Path]) -> str:
    return ", ".join(str(f) for f in files)
