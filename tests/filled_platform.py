"""A platform filled quickly for the dashboard's tests: every stage holds freight, a preview is open.

``shipyard demo`` now tells one cycle through the rendered pipelines (minutes, buildah, a registry server);
the dashboard's tests need a filled platform in seconds, so this builds one with Shipyard's commands on the
embedded default, as the demo once did: each image is a tiny OCI manifest stored in the local layout under the
tags a build would give it (no layers), and freight is taken from that layout by digest.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from shipyard.demo.context import DemoContext
from shipyard.git import Git
from shipyard.registry.layout import LayoutStore
from shipyard.registry.store import OCI_MANIFEST, Manifest
from shipyard.times import format_rfc3339

ALPHA = "v1.2.0-alpha.20261125093000"
BETA1 = "v1.2.0-beta.1"
BETA2 = "v1.2.0-beta.2"
HOTFIX = "v1.2.1-beta.1"
SERVICES = ("user-service", "payment-service", "notification-service")


def _layout(ctx: DemoContext) -> LayoutStore:
    return LayoutStore(ctx.repo / ".shipyard" / "registry")


def _build(ctx: DemoContext, service: str, version: str, *tags: str) -> None:
    """Store a service's image of ``version`` and tag it ``version`` (and ``tags``)."""
    store, repository = _layout(ctx), f"services/{service}"
    config = {"architecture": "amd64", "os": "linux", "config": {"Labels": {"service": service, "built": version}}}
    config_data = json.dumps(config, sort_keys=True).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": store.put_blob(repository, config_data),
            "size": len(config_data),
        },
        "layers": [],
    }
    image = Manifest.from_bytes(json.dumps(manifest, sort_keys=True).encode(), OCI_MANIFEST)
    for tag in (version, *tags):
        store.put_manifest(repository, tag, image)


def _retag(ctx: DemoContext, service: str, source: str, tag: str) -> None:
    """Add ``tag`` to the digest ``source`` names (manifest only: build once, promote by digest)."""
    store, repository = _layout(ctx), f"services/{service}"
    store.put_manifest(repository, tag, store.get_manifest(repository, source))


def alpha_cycle(ctx: DemoContext) -> None:
    """A merge to develop builds an alpha: its freight goes to dev and on to staging automatically."""
    Git(ctx.repo).run("config", "user.name", "Riley Release")  # who approves the manual stages below
    for service in SERVICES:
        _build(ctx, service, ALPHA, "alpha", "latest-alpha")
    commit = Git(ctx.repo).rev_parse("develop")
    ctx.shipyard("freight", "add", "--version", ALPHA, "--from-registry", "--source-commit", commit, "--pr", "101")
    ctx.shipyard("promote", "--auto")
    ctx.shipyard("promote", "--version", ALPHA, "--to", "uat", "--approve", expect=1)


def beta_cycle(ctx: DemoContext) -> None:
    """A release's betas enter uat and go on to preprod, each by approval; the approver is recorded."""
    for service in SERVICES:
        _build(ctx, service, BETA1, "beta", "latest-beta")
    commit = Git(ctx.repo).rev_parse("main")
    ctx.shipyard("freight", "add", "--version", BETA1, "--from-registry", "--source-commit", commit, "--pr", "102")
    ctx.shipyard("promote", "--version", BETA1, "--to", "uat", expect=1)
    ctx.shipyard("promote", "--version", BETA1, "--to", "uat", "--approve")
    # A fix on the release branch rebuilds payment-service only; the others keep their digests.
    _build(ctx, "payment-service", BETA2, "beta", "latest-beta")
    for service in ("user-service", "notification-service"):
        _retag(ctx, service, BETA1, BETA2)
    ctx.shipyard("freight", "add", "--version", BETA2, "--from-registry", "--source-commit", commit, "--pr", "103")
    ctx.shipyard("promote", "--version", BETA2, "--to", "preprod", "--approve", expect=1)
    ctx.shipyard("promote", "--version", BETA2, "--to", "uat", "--approve")
    ctx.shipyard("promote", "--version", BETA2, "--to", "preprod", "--approve")


def stable_cycle(ctx: DemoContext) -> None:
    """Production takes the freight that passed preprod, once its digests carry the stable tag v1.2.0."""
    ctx.shipyard("promote", "--version", "v1.2.0", "--to", "production", "--approve", expect=1)
    for service in SERVICES:
        for tag in ("v1.2.0", "stable", "latest", "v1.2", "v1"):
            _retag(ctx, service, BETA2, tag)
    ctx.shipyard("promote", "--version", "v1.2.0", "--to", "production", "--approve")


def hotfix_cycle(ctx: DemoContext) -> None:
    """A hotfix of payment-service: its beta goes through uat and preprod, then production as v1.2.1."""
    _build(ctx, "payment-service", HOTFIX, "beta", "latest-beta")
    commit = Git(ctx.repo).rev_parse("main")
    ctx.shipyard("freight", "add", "--version", HOTFIX, "--from-registry", "--source-commit", commit, "--pr", "104")
    for stage in ("uat", "preprod"):
        ctx.shipyard("promote", "--version", HOTFIX, "--to", stage, "--approve")
    _retag(ctx, "payment-service", HOTFIX, "v1.2.1")
    ctx.shipyard("promote", "--version", "v1.2.1", "--to", "production", "--approve")


def rollback(ctx: DemoContext) -> None:
    """The hotfix misbehaves: production returns to v1.2.0 as a new commit, and trace shows how it got there."""
    ctx.shipyard("rollback", "--env", "production")
    ctx.shipyard("trace", "payment-service", "--env", "production")


def scaffold(ctx: DemoContext) -> None:
    """The embedded default, with its config repo rendered and its pipelines."""
    ctx.shipyard("init", str(ctx.repo), "--org", "acme", "--domain", "acme.example.com", cwd=ctx.scratch)
    ctx.shipyard("render", "--commit")
    ctx.shipyard("ci", "render")


def previews(ctx: DemoContext) -> None:
    """PR 42's preview opened and collected past its TTL; PR 43's stays open."""
    sha = Git(ctx.repo).rev_parse("HEAD")
    ctx.shipyard("preview", "up", "--pr", "42", "--sha", sha)
    later = format_rfc3339(datetime.now(UTC) + timedelta(days=8))
    ctx.shipyard("preview", "gc", "--now", later)
    ctx.shipyard("preview", "up", "--pr", "43", "--sha", sha)
