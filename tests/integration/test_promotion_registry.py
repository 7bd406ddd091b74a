"""Promotions against a real registry: Debian's docker-registry (the session fixture of conftest.py), a
scaffolded platform whose ``shipyard.yaml`` names it (``registry.kind: oci``), and the commands as users run
them. ``freight add --from-registry`` records the registry's digests; the production gate refuses until
every digest carries the release's stable tag, then lets the freight in. Run with the default ``v`` tag
prefix and with ``release-``, which every version and tag of the flow then carries."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.cli.main import main
from shipyard.git import Git
from shipyard.registry import Manifest, RemoteRegistry
from shipyard.workspace.discovery import discover
from tests.ociimages import push_image
from tests.registryparts import RegistryServer

pytestmark = pytest.mark.integration


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def client(registry_server: RegistryServer) -> Iterator[RemoteRegistry]:
    registry = RemoteRegistry(registry_server.host)
    yield registry
    registry.close()


def use_registry(root: Path, host: str, project: str, prefix: str) -> None:
    """Point the scaffolded ``shipyard.yaml`` at the real registry, under a project of this test's own."""
    spec = root / "shipyard.yaml"
    text = spec.read_text(encoding="utf-8")
    local = "registry:\n  kind: local\n  url: .shipyard/registry\n"
    assert local in text
    remote = f"registry:\n  kind: oci\n  url: {host}\n  projects:\n    services: {project}\n"
    spec.write_text(text.replace(local, remote) + f"versioning:\n  tagPrefix: {prefix}\n", encoding="utf-8")


@pytest.mark.parametrize("prefix", ["v", "release-"])
def test_production_waits_for_the_stable_tag_in_the_registry(
    prefix: str,
    acme: Path,
    registry_server: RegistryServer,
    client: RemoteRegistry,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHIPYARD_APPROVER", "Dana")
    project = f"gate-{prefix.strip('-')}"
    use_registry(acme, registry_server.host, project, prefix)
    root = ("--root", str(acme))
    beta, stable = f"{prefix}1.2.0-beta.1", f"{prefix}1.2.0"
    services = sorted(p.name for p in discover(acme).services)
    assert len(services) >= 2
    built: dict[str, Manifest] = {s: push_image(client, f"{project}/{s}", beta, layers=1, size=64) for s in services}

    other = "release-1.2.0-beta.1" if prefix == "v" else "v1.2.0-beta.1"
    code, _, err = run(capsys, "freight", "add", "--version", other, "--from-registry", *root)
    assert code == 2 and f"tag prefix '{prefix}'" in err

    code, out, _ = run(capsys, "freight", "add", "--version", beta, "--from-registry", *root, "--json")
    assert code == 0
    recorded = json.loads(out)["freight"]["images"]
    assert recorded == {
        s: {"image": f"{registry_server.host}/{project}/{s}", "digest": built[s].digest} for s in services
    }
    config = Git(acme / ".shipyard" / "gitops-config.git")
    assert built[services[0]].digest in config.run("show", f"main:freight/{beta}.yaml")

    for stage in ("uat", "preprod"):
        code, _, err = run(capsys, "promote", "--version", beta, "--to", stage, "--approve", *root)
        assert code == 0, err

    # The release tags one image only: production still refuses, naming the digests without the tag.
    client.put_manifest(f"{project}/{services[0]}", stable, built[services[0]])
    code, out, _ = run(capsys, "promote", "--version", stable, "--to", "production", "--approve", *root, "--json")
    assert code == 1
    gates = {g["gate"]: g for g in json.loads(out)["gates"]}
    assert gates["stable-tag"]["passed"] is False and f"stable tag {stable}" in gates["stable-tag"]["reason"]
    assert services[1] in gates["stable-tag"]["reason"] and services[0] not in gates["stable-tag"]["reason"]
    assert all(g["passed"] for name, g in gates.items() if name != "stable-tag")

    # A stable tag on another image (not the freight's digest) does not count either.
    stray = push_image(client, f"{project}/{services[1]}", None, layers=1, size=64)
    client.put_manifest(f"{project}/{services[1]}", stable, stray)
    code, _, err = run(capsys, "promote", "--version", stable, "--to", "production", "--approve", *root)
    assert code == 1 and services[1] in err

    for service in services:
        client.put_manifest(f"{project}/{service}", stable, built[service])
    code, out, _ = run(capsys, "promote", "--version", stable, "--to", "production", "--approve", *root, "--json")
    assert code == 0
    (move,) = json.loads(out)["moves"]
    assert move["version"] == stable and {g["gate"]: g["passed"] for g in move["gates"]}["stable-tag"] is True
    overlay = config.run("show", "main:overlays/production/images/kustomization.yaml")
    assert all(f"digest: {built[s].digest}" in overlay for s in services)
