"""Demo steps of the registries: release images in the scaffold's local OCI layout with their aliases."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile

from shipyard.demo.context import DemoContext

SERVICES = ("user-service", "payment-service", "notification-service")


def _pack_service(ctx: DemoContext, service: str, tag: str) -> None:
    """Write a one-layer image of the service's sources into the layout (what a CI build would push)."""
    from shipyard.registry import LayoutStore, Manifest
    from shipyard.registry.store import OCI_MANIFEST

    store = LayoutStore(ctx.repo / ".shipyard" / "registry")
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for path in sorted((ctx.repo / "services" / service / "src").rglob("*")):
            info = tar.gettarinfo(str(path), arcname=f"app/{path.relative_to(ctx.repo / 'services' / service)}")
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            with path.open("rb") as handle:
                tar.addfile(info, handle if path.is_file() else None)
    layer = gzip.compress(raw.getvalue(), mtime=0)
    repository = f"services/{service}"
    layer_digest = store.put_blob(repository, layer)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["node", "src/server.js"], "WorkingDir": "/app"},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()]},
        },
        sort_keys=True,
    ).encode()
    config_digest = store.put_blob(repository, config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": len(config),
        },
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest, "size": len(layer)}
        ],
    }
    store.put_manifest(repository, tag, Manifest.from_bytes(json.dumps(manifest).encode(), OCI_MANIFEST))


def release_images(ctx: DemoContext) -> None:
    """Three service images built for a PR are released by manifest: beta, then stable with every alias."""
    for service in SERVICES:
        _pack_service(ctx, service, "pr-1-0000000")
    images = [f"localhost/services/{service}:pr-1-0000000" for service in SERVICES]
    ctx.shipyard("image", "release", *images, "--version", "v0.1.0-beta.1")
    ctx.shipyard("image", "release", *images, "--version", "v0.1.0", "--dry-run")
    ctx.shipyard("image", "release", *images, "--version", "v0.1.0")
    ctx.shipyard("image", "release", images[0], "--version", "v0.1.0")  # idempotent: nothing to change
    ctx.shipyard("image", "tags", "localhost/services/user-service")
    ctx.shipyard("image", "resolve", "localhost/services/user-service:latest")
