"""The local OCI image layout as a registry: the embedded default the scaffold and the demo use."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shipyard.errors import ShipyardError
from shipyard.registry import LayoutStore, Manifest, parse_reference
from shipyard.registry.tagging import apply_taggings, plan_release, plan_releases
from shipyard.versioning.semver import Version
from tests.ociimages import push_image


def test_layout_is_a_registry(tmp_path: Path) -> None:
    store = LayoutStore(tmp_path / "layout")
    manifest = push_image(store, "services/api", "pr-1-abc1234")
    assert store.head_manifest("services/api", "pr-1-abc1234") == manifest.digest
    assert store.get_manifest("services/api", manifest.digest).data == manifest.data
    assert store.list_tags("services/api") == ["pr-1-abc1234"]
    assert store.list_tags("services") == []
    index = json.loads((tmp_path / "layout" / "index.json").read_text())
    assert index["manifests"][0]["annotations"] == {"org.opencontainers.image.ref.name": "services/api:pr-1-abc1234"}
    assert (tmp_path / "layout" / "oci-layout").exists()


def test_layout_refuses_a_manifest_whose_blobs_are_missing(tmp_path: Path) -> None:
    store = LayoutStore(tmp_path)
    doc = {"schemaVersion": 2, "config": {"digest": "sha256:" + "1" * 64}, "layers": []}
    with pytest.raises(ShipyardError, match="not in the layout"):
        store.put_manifest("a/b", "x", Manifest.from_bytes(json.dumps(doc).encode()))


def test_concurrent_release_of_many_images_in_one_layout(tmp_path: Path) -> None:
    store = LayoutStore(tmp_path)
    repos = [f"services/s{i}" for i in range(8)]
    digests = {repo: push_image(store, repo, "rc", layers=1, size=64).digest for repo in repos}
    sources = [parse_reference(f"localhost/{r}:rc") for r in repos]
    taggings = plan_releases(lambda _r: store, sources, Version.parse("v1.0.0"))
    apply_taggings(taggings)
    for repo in repos:
        assert store.list_tags(repo) == ["latest", "rc", "stable", "v1", "v1.0", "v1.0.0"]
        assert {store.head_manifest(repo, t) for t in store.list_tags(repo)} == {digests[repo]}
    again = plan_release(store, parse_reference("localhost/services/s0:rc"), Version.parse("v1.0.0"))
    assert {c.action for c in again.changes} == {"keep"}


def _shipyard(cwd: Path, *args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "shipyard", *args], cwd=cwd, capture_output=True, text=True)
    assert proc.returncode == expect, proc.stdout + proc.stderr
    return proc


def test_cli_against_the_scaffold_layout(acme: Path) -> None:
    store = LayoutStore(acme / ".shipyard" / "registry")
    digest = push_image(store, "services/user-service", "v1.0.0-beta.1", layers=1).digest
    image = "localhost/services/user-service:v1.0.0-beta.1"
    dry = _shipyard(acme, "image", "release", image, "--version", "v1.0.0", "--dry-run")
    assert "localhost/services/user-service:latest" in dry.stdout
    assert store.list_tags("services/user-service") == ["v1.0.0-beta.1"]
    _shipyard(acme, "image", "release", image, "--version", "v1.0.0")
    assert _shipyard(acme, "image", "resolve", "localhost/services/user-service:stable").stdout.strip() == digest
    listed = json.loads(_shipyard(acme, "image", "tags", "localhost/services/user-service", "--json").stdout)
    assert listed["tags"] == ["latest", "stable", "v1", "v1.0", "v1.0.0", "v1.0.0-beta.1"]
    rerun = json.loads(_shipyard(acme, "image", "release", image, "--version", "v1.0.0", "--json").stdout)
    assert {t["action"] for t in rerun["images"][0]["tags"]} == {"keep"}
    tagged = json.loads(_shipyard(acme, "image", "tag", image, "qa-ok", "latest", "--json").stdout)
    assert [(t["tag"], t["action"]) for t in tagged["images"][0]["tags"]] == [("qa-ok", "create"), ("latest", "keep")]
    assert store.head_manifest("services/user-service", "qa-ok") == digest
    missing = _shipyard(acme, "image", "tag", "localhost/services/user-service:nope", "x", expect=2)
    assert "not found" in missing.stderr and "Traceback" not in missing.stderr
    bad = _shipyard(acme, "image", "release", image, "--version", "1.0", expect=2)
    assert "--version" in bad.stderr
