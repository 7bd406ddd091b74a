"""Publishing the scaffold's packages to a real Verdaccio (npm verdaccio@6.8.0 from deps/npm-test),
started on 127.0.0.1 with htpasswd auth and no uplinks, using the config Shipyard renders (tests/npmparts.py).
The packages are built for real (`npm ci` from this machine's npm cache, then `shipyard packages build`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.npmparts import Verdaccio, npm_ci

pytestmark = pytest.mark.integration

ALPHA = "v0.2.0-alpha.20250101120000"
UNBUILT = "v0.9.0-alpha.20250303120000"  # a version no other test publishes


def _shipyard(cwd: Path, token: str, *args: str) -> dict[str, object]:
    env = {**os.environ, "SHIPYARD_NPM_TOKEN": token}
    proc = subprocess.run(
        [sys.executable, "-m", "shipyard", *args, "--json"], cwd=cwd, capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


def _packument(verdaccio: Verdaccio, name: str) -> dict[str, object]:
    return verdaccio.packument(name)


def _build(acme: Path) -> None:
    # What the package pipeline does before it publishes: install, then each package's own build, in order.
    npm_ci(acme, dict(os.environ))
    proc = subprocess.run(
        [sys.executable, "-m", "shipyard", "packages", "build"], cwd=acme, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr


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


def test_an_unbuilt_package_is_never_published(acme: Path, verdaccio: Verdaccio) -> None:
    # A fresh clone has no dist/ (git ignores it): publishing it would ship packages without their code.
    env = {**os.environ, "SHIPYARD_NPM_TOKEN": verdaccio.token}
    proc = subprocess.run(
        [sys.executable, "-m", "shipyard", "packages", "publish", "--registry", verdaccio.url, "--version", UNBUILT],
        cwd=acme,
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 2, proc.stderr
    assert "packages/common-types/dist/index.js (main in its package.json) is missing" in proc.stderr
    assert "shipyard packages build" in proc.stderr
