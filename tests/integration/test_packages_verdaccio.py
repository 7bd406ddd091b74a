"""Publishing the scaffold's packages to a real Verdaccio (npm verdaccio@6.8.0 from deps/npm-test),
started on 127.0.0.1 with htpasswd auth and no uplinks, using the config Shipyard renders."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shipyard.k8s.yaml import dump
from shipyard.render.verdaccio import verdaccio_config
from shipyard.spec.loader import parse_spec
from tests.localhttp import free_port
from tests.realparts import REPO_ROOT, missing, need_binary

pytestmark = pytest.mark.integration

ALPHA = "v0.2.0-alpha.20250101120000"


@dataclass
class Verdaccio:
    url: str
    token: str


@pytest.fixture(scope="session")
def verdaccio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Verdaccio]:
    node = need_binary("node")
    entry = REPO_ROOT / ".tools" / "npm-test" / "node_modules" / "verdaccio" / "bin" / "verdaccio"
    if not entry.exists():
        missing("verdaccio@6.8.0", "install it with `make test-deps` (deps/npm-test/package.json)")
    work = tmp_path_factory.mktemp("verdaccio")
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
        yield Verdaccio(url, token)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _shipyard(cwd: Path, token: str, *args: str) -> dict[str, object]:
    env = {**os.environ, "SHIPYARD_NPM_TOKEN": token}
    proc = subprocess.run(
        [sys.executable, "-m", "shipyard", *args, "--json"], cwd=cwd, capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


def _packument(verdaccio: Verdaccio, name: str) -> dict[str, object]:
    request = urllib.request.Request(
        verdaccio.url + name.replace("/", "%2f"), headers={"Authorization": f"Bearer {verdaccio.token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        return dict(json.loads(reply.read()))


def _build(acme: Path) -> None:
    # What the CI's build step leaves behind: the compiled dist/ each package ships ("files": ["dist"]).
    for package in ("common-types", "utils", "api-client"):
        dist = acme / "packages" / package / "dist"
        dist.mkdir()
        (dist / "index.js").write_text(f"module.exports = {{ name: '{package}' }};\n")


def _actions(result: dict[str, object]) -> list[tuple[str, str, str]]:
    packages = result["packages"]
    assert isinstance(packages, list)
    return [(p["name"], p["action"], p["distTag"]) for p in packages]


def test_publish_republish_dist_tags_and_consumer(acme: Path, verdaccio: Verdaccio, tmp_path: Path) -> None:
    _build(acme)
    publish = ("packages", "publish", "--registry", verdaccio.url, "--version")
    before = {p: (acme / "packages" / p / "package.json").read_bytes() for p in ("common-types", "utils", "api-client")}

    planned = _shipyard(acme, verdaccio.token, *publish, ALPHA, "--dry-run")
    assert _actions(planned) == [
        ("common-types", "publish", "alpha"),
        ("utils", "publish", "alpha"),
        ("api-client", "publish", "alpha"),
    ]
    done = _shipyard(acme, verdaccio.token, *publish, ALPHA)
    assert [a for _, a, _ in _actions(done)] == ["publish"] * 3
    assert {p: (acme / "packages" / p / "package.json").read_bytes() for p in before} == before

    doc = _packument(verdaccio, "@acme/api-client")
    version = ALPHA[1:]
    manifest = doc["versions"][version]  # type: ignore[index]
    assert manifest["dependencies"] == {"@acme/common-types": version, "@acme/utils": version}
    assert manifest["publishConfig"] == {"registry": verdaccio.url}
    # (While only prereleases exist, Verdaccio itself shows the highest as latest; we never ask for it.)
    assert doc["dist-tags"]["alpha"] == version  # type: ignore[index]

    again = _shipyard(acme, verdaccio.token, *publish, ALPHA)
    assert [a for _, a, _ in _actions(again)] == ["skip"] * 3

    # A dist-tag lost after the publish (an interrupted run, a manual `dist-tag rm`) is put back.
    host = verdaccio.url.split("://", 1)[1]
    npmrc = tmp_path / "admin.npmrc"
    npmrc.write_text(f"registry={verdaccio.url}\n//{host}:_authToken={verdaccio.token}\n")
    removed = subprocess.run(
        ["npm", "dist-tag", "rm", "@acme/utils", "alpha", "--userconfig", str(npmrc)], capture_output=True, text=True
    )
    assert removed.returncode == 0, removed.stderr
    repaired = _shipyard(acme, verdaccio.token, *publish, ALPHA)
    assert [a for _, a, _ in _actions(repaired)] == ["skip", "tag", "skip"]
    assert _packument(verdaccio, "@acme/utils")["dist-tags"]["alpha"] == version  # type: ignore[index]

    # A consumer resolves the scope from Verdaccio with a token and installs by dist-tag.
    consumer = tmp_path / "consumer"
    consumer.mkdir()
    (consumer / "package.json").write_text('{"name": "consumer", "version": "1.0.0", "private": true}\n')
    (consumer / ".npmrc").write_text(f"@acme:registry={verdaccio.url}\n//{host}:_authToken={verdaccio.token}\n")
    proc = subprocess.run(
        [
            "npm",
            "install",
            "@acme/api-client@alpha",
            "--no-audit",
            "--no-fund",
            "--userconfig",
            str(consumer / ".npmrc"),
        ],
        cwd=consumer,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    for package in ("api-client", "utils", "common-types"):
        installed = json.loads((consumer / "node_modules" / "@acme" / package / "package.json").read_text())
        assert installed["version"] == version
    assert (consumer / "node_modules" / "@acme" / "api-client" / "dist" / "index.js").exists()

    # Stable takes latest; a later patch of an older line gets latest-X.Y, never latest.
    stable = _shipyard(acme, verdaccio.token, *publish, "v0.2.0")
    assert {tag for _, _, tag in _actions(stable)} == {"latest"}
    old_line = _shipyard(acme, verdaccio.token, *publish, "v0.1.5", "@acme/utils", "common-types")
    assert _actions(old_line) == [("common-types", "publish", "latest-0.1"), ("utils", "publish", "latest-0.1")]
    # A prerelease after the stable moves alpha, never latest.
    next_alpha = _shipyard(acme, verdaccio.token, *publish, "v0.3.0-alpha.20250202120000", "utils", "common-types")
    assert {tag for _, _, tag in _actions(next_alpha)} == {"alpha"}
    tags = _packument(verdaccio, "@acme/utils")["dist-tags"]
    assert tags == {"alpha": "0.3.0-alpha.20250202120000", "latest": "0.2.0", "latest-0.1": "0.1.5"}
