"""Tiny but real OCI images for the registry tests and the benchmark: gzipped tar layers of random
bytes, a config whose diff_ids match them, and an OCI manifest, pushed through any ImageStore."""

from __future__ import annotations

import io
import json
import os
import tarfile

from shipyard.registry.assemble import push_image_content
from shipyard.registry.store import OCI_MANIFEST, ImageStore, Manifest


def _layer(size: int, name: str) -> bytes:
    """A tar holding one file of random bytes."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = size
        tar.addfile(info, io.BytesIO(os.urandom(size)))
    return raw.getvalue()


def push_image(
    store: ImageStore, repository: str, tag: str | None = None, layers: int = 3, size: int = 2048
) -> Manifest:
    """Push a new image (unique content) to ``repository``; tag it when ``tag`` is given."""
    tars = [_layer(size, f"layer{index}.bin") for index in range(layers)]
    document = push_image_content(store, repository, tars, {"Cmd": ["/bin/true"]})
    # Not the canonical form on purpose: tagging must move these exact bytes, not a re-serialisation.
    manifest = Manifest.from_bytes(json.dumps(document, indent=3).encode(), OCI_MANIFEST)
    if tag:
        store.put_manifest(repository, tag, manifest)
    return manifest
