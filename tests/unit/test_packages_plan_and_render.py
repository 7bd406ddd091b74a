"""Publishing plans (names, exact pins, dist-tags) and the rendered Verdaccio config (no dependency confusion)."""

from __future__ import annotations

from pathlib import Path

import yaml

from shipyard.packages.publish import PackageRelease, staged_manifest
from shipyard.render.verdaccio import render_verdaccio
from shipyard.spec.loader import load_spec
from shipyard.workspace.discovery import discover


def test_scope_is_private_and_everything_else_proxied(acme: Path) -> None:
    platform = load_spec(acme / "shipyard.yaml")
    files = render_verdaccio(platform, discover(acme))
    assert sorted(files) == ["verdaccio/config.yaml", "verdaccio/values.yaml"]
    config = yaml.safe_load(files["verdaccio/config.yaml"])
    scoped = config["packages"]["@acme/*"]
    assert "proxy" not in scoped
    assert scoped["access"] == "$authenticated" and scoped["publish"] == "$authenticated"
    assert config["packages"]["**"]["proxy"] == "npmjs"
    assert list(config["packages"]) == ["@acme/*", "**"]  # first match wins: the scope rule comes first
    assert config["auth"]["htpasswd"]["max_users"] == -1
    values = yaml.safe_load(files["verdaccio/values.yaml"])
    assert yaml.safe_load(values["configMap"]) == config
    assert values["ingress"]["hosts"] == ["verdaccio.acme.example.com"]
    assert render_verdaccio(platform, discover(acme)) == files  # deterministic


def test_staged_manifest_pins_workspace_deps() -> None:
    manifest = {
        "name": "@acme/api-client",
        "version": "0.0.0",
        "dependencies": {"@acme/utils": "*", "left-pad": "^1.3.0"},
        "devDependencies": {"@acme/common-types": "workspace:*"},
        "publishConfig": {"access": "restricted"},
    }
    release = PackageRelease(
        "api-client",
        "@acme/api-client",
        "packages/api-client",
        "1.3.0-beta.2",
        "beta",
        "publish",
        {"@acme/utils": "1.3.0-beta.2", "@acme/common-types": "1.3.0-beta.2"},
    )
    staged = staged_manifest(manifest, release, "https://verdaccio.acme.example.com/")
    assert staged["version"] == "1.3.0-beta.2"
    assert staged["dependencies"] == {"@acme/utils": "1.3.0-beta.2", "left-pad": "^1.3.0"}
    assert staged["devDependencies"] == {"@acme/common-types": "1.3.0-beta.2"}
    assert staged["publishConfig"] == {"access": "restricted", "registry": "https://verdaccio.acme.example.com/"}
    assert manifest["version"] == "0.0.0"  # the user's data is not modified


def test_publish_plan_refuses_unknown_packages_and_pins_unpublished_deps(acme: Path) -> None:
    import httpx
    import pytest

    from shipyard.errors import ShipyardError
    from shipyard.packages.npm_registry import NpmRegistry
    from shipyard.packages.publish import plan_publish
    from shipyard.versioning.semver import Version

    workspace = discover(acme)
    empty = NpmRegistry("http://npm.test/", transport=httpx.MockTransport(lambda r: httpx.Response(404)))
    with pytest.raises(ShipyardError, match="not a workspace package: billing"):
        plan_publish(workspace, Version.parse("v1.0.0"), empty, ["billing"])
    # api-client alone needs versions of utils and common-types that were published before.
    with pytest.raises(ShipyardError, match="never been published"):
        plan_publish(workspace, Version.parse("v1.0.0"), empty, ["api-client"])

    def packuments(request: httpx.Request) -> httpx.Response:
        if "api-client" in str(request.url):
            return httpx.Response(404)
        return httpx.Response(200, json={"versions": {"0.9.0": {}}, "dist-tags": {"latest": "0.9.0"}})

    registry = NpmRegistry("http://npm.test/", transport=httpx.MockTransport(packuments))
    # Not built yet: publishing would ship a package without its code.
    with pytest.raises(ShipyardError, match=r"api-client/dist/index.js \(main in its package.json\) is missing"):
        plan_publish(workspace, Version.parse("v1.0.0"), registry, ["@acme/api-client"])
    dist = acme / "packages" / "api-client" / "dist"
    dist.mkdir()
    (dist / "index.js").write_text("module.exports = {};\n")
    (dist / "index.d.ts").write_text("export {};\n")
    (release,) = plan_publish(workspace, Version.parse("v1.0.0"), registry, ["@acme/api-client"])
    assert (release.action, release.dist_tag) == ("publish", "latest")
    assert release.dependencies == {"@acme/common-types": "0.9.0", "@acme/utils": "0.9.0"}
