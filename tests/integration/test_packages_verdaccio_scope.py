"""The config the Verdaccio chart runs keeps the platform's scope private: a real Verdaccio (npm verdaccio@6.8.0
from deps/npm-test) started with the ``configMap`` of the rendered bootstrap Application, its public uplink
pointed at a loopback stand-in of the npm registry (no machine here reaches the public one).

The stand-in answers every package document it is asked for and records the names asked. A name of the
platform's scope that exists only upstream must be refused without the uplink ever being asked, while any
other name is fetched from it (which shows the uplink works). The chart's own default config, whose ``'@*/*'``
rule proxies every scope, is started the same way to show the test catches the defect.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote

import pytest
import yaml

from shipyard.k8s.yaml import dump
from shipyard.render.bootstrap import render_bootstrap
from shipyard.render.verdaccio import PUBLIC_UPLINK_URL, verdaccio_config
from shipyard.spec.loader import parse_spec
from tests.localhttp import free_port, serve, stop
from tests.realparts import REPO_ROOT, missing, need_binary

pytestmark = pytest.mark.integration

SPEC = (
    "apiVersion: shipyard.dev/v1alpha1\nkind: Platform\norg: acme\ndomain: acme.example.com\n"
    "registry:\n  url: harbor.acme.example.com\n"
)


class Upstream(BaseHTTPRequestHandler):
    """The public registry, as far as Verdaccio asks it: a packument with one version for any name."""

    asked: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        name = unquote(self.path.lstrip("/"))
        Upstream.asked.append(name)
        host = self.headers.get("Host", "127.0.0.1")
        tarball = f"http://{host}/{name}/-/x-1.0.0.tgz"
        body = json.dumps(
            {
                "name": name,
                "dist-tags": {"latest": "1.0.0"},
                "versions": {"1.0.0": {"name": name, "version": "1.0.0", "dist": {"tarball": tarball}}},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def upstream() -> Iterator[str]:
    Upstream.asked.clear()
    server = serve(Upstream)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        stop(server)


def deployed_config() -> dict[str, Any]:
    """The config the chart runs: the ``configMap`` value of the rendered bootstrap Application."""
    app = yaml.safe_load(render_bootstrap(parse_spec(SPEC), None)["bootstrap/verdaccio.yaml"])  # type: ignore[arg-type]
    config = yaml.safe_load(app["spec"]["source"]["helm"]["valuesObject"]["configMap"])
    assert isinstance(config, dict)
    return config


@contextmanager
def verdaccio(work: Path, config: dict[str, Any]) -> Iterator[str]:
    node = need_binary("node")
    entry = REPO_ROOT / ".tools" / "npm-test" / "node_modules" / "verdaccio" / "bin" / "verdaccio"
    if not entry.exists():
        missing("verdaccio@6.8.0", "install it with `make test-deps` (deps/npm-test/package.json)")
    (work / "config.yaml").write_text(dump(config))
    port = free_port()
    with (work / "verdaccio.log").open("wb") as log:
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
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)


def local(config: dict[str, Any], work: Path, uplink: str) -> dict[str, Any]:
    """``config`` with this machine's storage and the stand-in as the public uplink."""
    found: dict[str, Any] = json.loads(json.dumps(config))
    found["storage"] = str(work / "storage")
    found["auth"]["htpasswd"]["file"] = str(work / "htpasswd")
    sha = base64.b64encode(hashlib.sha1(PASSWORD.encode()).digest()).decode()
    (work / "htpasswd").write_text(f"ci:{{SHA}}{sha}:autocreated 2025-01-01T00:00:00.000Z\n")
    for settings in found["uplinks"].values():
        assert settings["url"] == PUBLIC_UPLINK_URL
        settings["url"] = uplink
    return found


PASSWORD = "s3cret-ci"


def token(url: str) -> str:
    """A token of the htpasswd user ``ci`` (registration is off: the login authenticates an existing user)."""
    login = urllib.request.Request(
        url + "-/user/org.couchdb.user:ci",
        data=json.dumps({"name": "ci", "password": PASSWORD}).encode(),
        headers={
            "Content-Type": "application/json",
            "Authorization": "Basic " + base64.b64encode(f"ci:{PASSWORD}".encode()).decode(),
        },
        method="PUT",
    )
    with urllib.request.urlopen(login, timeout=10) as reply:
        return str(json.loads(reply.read())["token"])


def status(url: str, bearer: str | None = None) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {bearer}"} if bearer else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_deployed_config_is_the_generated_one() -> None:
    assert deployed_config() == verdaccio_config(parse_spec(SPEC))


def test_the_platform_scope_is_never_asked_of_the_uplink(tmp_path: Path, upstream: str) -> None:
    config = local(deployed_config(), tmp_path, upstream)
    with verdaccio(tmp_path, config) as url:
        assert status(url + "left-pad") == 200  # the uplink works: other names come from it
        assert "left-pad" in Upstream.asked
        # A signed-in user (who may read the scope) gets "not found": the uplink never hears of the name.
        assert status(url + "@acme%2fsecret-sauce", token(url)) == 404
        assert status(url + "@acme%2fsecret-sauce") in (401, 403)
    assert [name for name in Upstream.asked if name.startswith("@acme")] == []


def test_the_charts_default_rule_would_fetch_the_scope_upstream(tmp_path: Path, upstream: str) -> None:
    config = local(deployed_config(), tmp_path, upstream)
    # The rule the chart's default config has for every scope, ahead of the platform's own.
    config["packages"] = {"@*/*": {"access": "$all", "proxy": "npmjs"}, **config["packages"]}
    with verdaccio(tmp_path, config) as url:
        assert status(url + "@acme%2fsecret-sauce", token(url)) == 200
    assert "@acme/secret-sauce" in Upstream.asked
