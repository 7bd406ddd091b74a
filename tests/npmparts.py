"""The npm parts the tests use: a real Verdaccio (npm verdaccio@6.8.0 from deps/npm-test) on 127.0.0.1 with
htpasswd auth, no uplinks and the config Shipyard renders; and npm working from this machine's cache only."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from shipyard.k8s.yaml import dump
from shipyard.render.verdaccio import verdaccio_config
from shipyard.spec.loader import parse_spec
from tests.localhttp import free_port
from tests.realparts import REPO_ROOT, missing, need_binary


@dataclass
class Verdaccio:
    """A running Verdaccio: its URL (with a trailing slash) and a token of its user ``ci``."""

    url: str
    token: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def packument(self, name: str) -> dict[str, object]:
        """The registry's document of package ``name`` (versions, dist-tags)."""
        request = urllib.request.Request(
            self.url + name.replace("/", "%2f"), headers={"Authorization": f"Bearer {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as reply:
            return dict(json.loads(reply.read()))


def start_verdaccio(work: Path) -> Verdaccio:
    """Start Verdaccio with its storage under ``work``; log in user ``ci`` and keep its token."""
    node = need_binary("node")
    entry = REPO_ROOT / ".tools" / "npm-test" / "node_modules" / "verdaccio" / "bin" / "verdaccio"
    if not entry.exists():
        missing("verdaccio@6.8.0", "install it with `make test-deps` (deps/npm-test/package.json)")
    password = "s3cret-ci"
    sha = base64.b64encode(hashlib.sha1(password.encode()).digest()).decode()
    (work / "htpasswd").write_text(f"ci:{{SHA}}{sha}:autocreated 2025-01-01T00:00:00.000Z\n")
    platform = parse_spec(
        "apiVersion: shipyard.dev/v1alpha1\nkind: Platform\norg: acme\ndomain: acme.example.com\n"
        "registry:\n  url: harbor.acme.example.com\n"
    )
    config = verdaccio_config(platform, storage=str(work / "storage"), htpasswd=str(work / "htpasswd"), uplink=None)
    (work / "config.yaml").write_text(dump(config))
    port = free_port()
    log = (work / "verdaccio.log").open("wb")
    process = subprocess.Popen(
        [node, str(entry), "--config", str(work / "config.yaml"), "--listen", f"127.0.0.1:{port}"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "-/ping", timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((work / "verdaccio.log").read_text()) from None
                time.sleep(0.2)
        login = urllib.request.Request(
            url + "-/user/org.couchdb.user:ci",
            data=json.dumps({"name": "ci", "password": password}).encode(),
            # With registration disabled, an existing htpasswd user gets a token by authenticating the login.
            headers={
                "Content-Type": "application/json",
                "Authorization": "Basic " + base64.b64encode(f"ci:{password}".encode()).decode(),
            },
            method="PUT",
        )
        with urllib.request.urlopen(login, timeout=10) as reply:
            token = json.loads(reply.read())["token"]
    except BaseException:
        process.terminate()
        process.wait(timeout=10)
        raise
    return Verdaccio(url, token, process)


@cache
def npm_cache() -> str:
    """This machine's npm cache folder (``npm config get cache``)."""
    npm = need_binary("npm")
    return subprocess.run([npm, "config", "get", "cache"], capture_output=True, text=True, check=True).stdout.strip()


def offline_npm_env() -> dict[str, str]:
    """Environment for npm to install from this machine's cache and never ask a registry.

    The scaffold's package-lock.json pins typescript 5.9.3, the version deps/npm-test/package.json installs,
    so `make test-deps` has put its tarball in the cache; `npm ci` then works with no network.
    """
    return {"npm_config_cache": npm_cache(), "npm_config_offline": "true", "npm_config_update_notifier": "false"}


def npm_ci(root: Path, env: dict[str, str]) -> None:
    """``npm ci`` in ``root`` from the cache (see ``offline_npm_env``), or fail naming what is missing."""
    proc = subprocess.run(
        [need_binary("npm"), "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
        cwd=root,
        capture_output=True,
        text=True,
        env={**env, **offline_npm_env()},
        check=False,
    )
    if proc.returncode != 0 and "ENOTCACHED" in proc.stderr:
        missing("typescript 5.9.3 in the npm cache", "`make test-deps` installs it (deps/npm-test/package.json)")
    assert proc.returncode == 0, proc.stderr
