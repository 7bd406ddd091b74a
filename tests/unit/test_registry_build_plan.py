"""The buildah commands `image build` runs, for the local layout and for a registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.errors import ShipyardError
from shipyard.registry.build import plan_build
from shipyard.spec.loader import load_spec
from tests.realparts import need_binary


def test_local_layout_build_reads_the_base_from_the_layout(acme: Path) -> None:
    need_binary("buildah", "install Debian's buildah (deps/apt-runtime.txt)")
    plan = plan_build(load_spec(acme / "shipyard.yaml"), acme, "user-service", "pr-3-abc1234")
    build = plan.build_command(Path("/tmp/x/layout"))
    assert build[build.index("--isolation") : build.index("--isolation") + 2] == ["--isolation", "chroot"]
    assert "BASE_IMAGE=oci:/tmp/x/layout:base-images/node:20" in build
    assert plan.push[-1] == f"oci:{(acme / '.shipyard/registry').resolve()}:services/user-service:pr-3-abc1234"
    assert build[-1] == str(acme)  # the context is the repository: Dockerfiles copy packages/ too


def test_registry_build_pushes_by_docker_transport(tmp_path: Path) -> None:
    need_binary("buildah", "install Debian's buildah (deps/apt-runtime.txt)")
    from shipyard.scaffold.init import InitOptions, init

    root = tmp_path / "acme"
    init(InitOptions(directory=root, org="acme", domain="acme.example.com", registry="127.0.0.1:5000"))
    plan = plan_build(load_spec(root / "shipyard.yaml"), root, "payment-service", "v1.0.0")
    assert plan.push[-1] == "docker://127.0.0.1:5000/services/payment-service:v1.0.0"
    assert "--tls-verify=false" in plan.push  # loopback only
    assert not any(arg.startswith("BASE_IMAGE=") for arg in plan.build_command(Path("/x")))
    with pytest.raises(ShipyardError, match="services: notification-service, payment-service, user-service"):
        plan_build(load_spec(root / "shipyard.yaml"), root, "billing", "v1")
