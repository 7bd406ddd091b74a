"""Putting an image together in a store: gzipped layers, a config whose diff_ids match them, and the
manifest document that names both. Used for the base images Shipyard builds itself, and by the tests."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from shipyard.registry.store import OCI_MANIFEST, ImageStore

LAYER_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json"


def push_image_content(
    store: ImageStore, repository: str, layer_tars: Sequence[bytes], container_config: dict[str, Any]
) -> dict[str, Any]:
    """Push the layers (uncompressed tars, gzipped here) and the image config to ``repository``.

    Returns the OCI manifest document; the caller serialises and pushes it, so it decides the exact bytes.
    """
    descriptors = []
    diff_ids = []
    for tar_bytes in layer_tars:
        # mtime=0: the same files always give the same blob, so rebuilding an unchanged image changes nothing.
        blob = gzip.compress(tar_bytes, compresslevel=1, mtime=0)
        descriptors.append(
            {"mediaType": LAYER_MEDIA_TYPE, "digest": store.put_blob(repository, blob), "size": len(blob)}
        )
        diff_ids.append("sha256:" + hashlib.sha256(tar_bytes).hexdigest())
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": container_config,
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        },
        sort_keys=True,
    ).encode()
    return {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": CONFIG_MEDIA_TYPE, "digest": store.put_blob(repository, config), "size": len(config)},
        "layers": descriptors,
    }
