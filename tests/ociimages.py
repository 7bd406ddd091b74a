"""Tiny but real OCI images for the registry tests and the benchmark: gzipped tar layers of random
bytes, a config whose diff_ids match them, and an OCI manifest, pushed through any ImageStore."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile

from shipyard.registry.store import OCI_MANIFEST, ImageStore, Manifest


def _layer(size: int, name: str) -> tuple[bytes, str]:
    """A gzipped tar holding one file of random bytes; returns (blob, diff_id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = size
        tar.addfile(info, io.BytesIO(os.urandom(size)))
    tar_bytes = raw.getvalue()
    return gzip.compress(tar_bytes, mtime=0), "sha256:" + hashlib.sha256(tar_bytes).hexdigest()


def push_image(
    store: ImageStore, repository: str, tag: str | None = None, layers: int = 3, size: int = 2048
) -> Manifest:
    """Push a new image (unique content) to ``repository``; tag it when ``tag`` is given."""
    descriptors = []
    diff_ids = []
    for index in range(layers):
        blob, diff_id = _layer(size, f"layer{index}.bin")
        digest = store.put_blob(repository, blob)
        descriptors.append(
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest, "size": len(blob)}
        )
        diff_ids.append(diff_id)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["/bin/true"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        },
        sort_keys=True,
    ).encode()
    config_digest = store.put_blob(repository, config)
    manifest_doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": len(config),
        },
        "layers": descriptors,
    }
    manifest = Manifest.from_bytes(json.dumps(manifest_doc, indent=3).encode(), OCI_MANIFEST)
    if tag:
        store.put_manifest(repository, tag, manifest)
    return manifest
