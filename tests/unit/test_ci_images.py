"""Image pinning: the rule every rendered step follows, and the project's own Dockerfile.

The Dockerfile cannot be built here (no container engine on this machine); these tests check what can be
checked without one: pinned bases, the wheel built from this checkout, the tools the steps call.
"""

from __future__ import annotations

import re

import pytest

from shipyard.render.tekton import images
from shipyard.render.tekton.images import pin_problem
from tests.realparts import REPO_ROOT


@pytest.mark.parametrize(
    ("image", "pinned"),
    [
        ("quay.io/buildah/stable:v1.39.0", True),
        ("localhost:5000/base-images/shipyard:0.1.0", True),
        ("busybox@sha256:" + "0" * 64, True),
        ("busybox", False),
        ("localhost:5000/busybox", False),
        ("docker.io/aquasec/trivy:latest", False),
        ("quay.io/buildah/stable:stable", False),
        ("has space:1", False),
    ],
)
def test_pin_rule(image: str, pinned: bool) -> None:
    assert (pin_problem(image) is None) is pinned


def test_third_party_step_images_are_pinned() -> None:
    for image in (images.BUILDAH, images.TRIVY):
        assert pin_problem(image) is None


def test_dockerfile_builds_shipyard_from_the_wheel() -> None:
    text = (REPO_ROOT / "Dockerfile").read_text()
    bases = [line.split()[1] for line in text.splitlines() if line.startswith("FROM ")]
    assert len(bases) == 2
    for base in bases:
        assert pin_problem(base) is None, base
    assert re.search(r"pip wheel .*--no-deps .*\.$", text, re.M)
    assert "COPY --from=wheel /wheels /wheels" in text
    assert re.search(r"install .*\bgit\b.*\bnpm\b", text)
    assert "USER 1000" in text
    ignore = (REPO_ROOT / ".dockerignore").read_text().split()
    assert ignore[0] != "!" and "*" in ignore and "!src/" in ignore
