"""Demo steps of the registries: build images with buildah into the scaffold's local OCI layout, then
release them by manifest with their aliases."""

from __future__ import annotations

from shipyard.demo.context import DemoContext

SERVICES = ("user-service", "notification-service")
PR_TAG = "pr-1-0000000"


def build_images(ctx: DemoContext) -> None:
    """No public image can be pulled: base images are packed from this host's node and python, then
    buildah (--isolation chroot) builds the services FROM them into .shipyard/registry."""
    ctx.shipyard("image", "base", "node")
    ctx.shipyard("image", "base", "python")
    for service in SERVICES:
        ctx.shipyard("image", "build", service, "--tag", PR_TAG)


def release_images(ctx: DemoContext) -> None:
    """The tested images are released by manifest (no layer moves): beta, then stable with every alias."""
    images = [f"localhost/services/{service}:{PR_TAG}" for service in SERVICES]
    ctx.shipyard("image", "release", *images, "--version", "v0.1.0-beta.1")
    ctx.shipyard("image", "release", *images, "--version", "v0.1.0", "--dry-run")
    ctx.shipyard("image", "release", *images, "--version", "v0.1.0")
    ctx.shipyard("image", "release", images[0], "--version", "v0.1.0")  # idempotent: nothing to change
    ctx.shipyard("image", "tags", "localhost/services/user-service")
    ctx.shipyard("image", "resolve", "localhost/services/user-service:latest")
