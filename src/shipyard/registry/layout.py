"""An OCI image layout directory as a registry: the embedded default store (no server).

Tags live in ``index.json`` as descriptors annotated ``org.opencontainers.image.ref.name`` =
``<repository>:<tag>``, so one layout holds many repositories; blobs are content-addressed files.
Writes take a lock (threads and processes) and replace ``index.json`` atomically.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shipyard.registry.store import OCI_INDEX, Manifest, NotFound, RegistryError, sha256_digest

REF_NAME = "org.opencontainers.image.ref.name"
_LAYOUT = '{"imageLayoutVersion": "1.0.0"}\n'


class LayoutStore:
    """An OCI image layout at ``root``; created on first write when absent."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()

    @property
    def location(self) -> str:
        """The layout's folder."""
        return str(self.root)

    def close(self) -> None:
        """Nothing to release: every operation opens and closes its files."""

    # -- files ------------------------------------------------------------------------------

    def _blob_path(self, digest: str) -> Path:
        algorithm, _, hexdigest = digest.partition(":")
        return self.root / "blobs" / algorithm / hexdigest

    def _read_index(self) -> dict[str, Any]:
        path = self.root / "index.json"
        if not path.exists():
            return {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
        from shipyard.bounded import read_json

        data = read_json(path, 64 * 1024 * 1024)  # an index of many thousands of tags fits
        if not isinstance(data, dict) or not isinstance(data.get("manifests", []), list):
            raise RegistryError(f"{path}: not an OCI image index (no 'manifests' list)")
        return data

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with self._lock, (self.root / ".shipyard.lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _write_atomic(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            Path(tmp).replace(path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _ensure_layout(self) -> None:
        marker = self.root / "oci-layout"
        if not marker.exists():
            self._write_atomic(marker, _LAYOUT.encode())

    # -- the store interface ------------------------------------------------------------------

    def _descriptor(self, repository: str, reference: str) -> dict[str, Any] | None:
        if reference.startswith("sha256:"):
            path = self._blob_path(reference)
            return {"digest": reference} if path.exists() else None
        name = f"{repository}:{reference}"
        for entry in self._read_index().get("manifests", []):
            if isinstance(entry, dict) and (entry.get("annotations") or {}).get(REF_NAME) == name:
                return entry
        return None

    def get_manifest(self, repository: str, reference: str) -> Manifest:
        """The manifest a tag (``repository:tag`` in index.json) or digest names."""
        descriptor = self._descriptor(repository, reference)
        if descriptor is None:
            raise NotFound(f"{self.root}: {repository}:{reference} not found")
        data = self._blob_path(str(descriptor["digest"])).read_bytes()
        manifest = Manifest.from_bytes(data, descriptor.get("mediaType"))
        if manifest.digest != descriptor["digest"]:
            raise RegistryError(f"{self.root}: blob {descriptor['digest']} is corrupt (hashes to {manifest.digest})")
        return manifest

    def head_manifest(self, repository: str, reference: str) -> str | None:
        """The digest behind a tag, or None."""
        descriptor = self._descriptor(repository, reference)
        return None if descriptor is None else str(descriptor["digest"])

    def put_manifest(self, repository: str, tag: str, manifest: Manifest) -> str:
        """Store the manifest's bytes and point ``repository:tag`` at them; its blobs must be present."""
        if sha256_digest(manifest.data) != manifest.digest:
            raise RegistryError(f"{self.root}: manifest bytes do not match {manifest.digest}")
        for child in _children(manifest):
            if not self._blob_path(child).exists():
                raise RegistryError(f"{self.root}: {repository}:{tag} refers to {child}, which is not in the layout")
        with self._locked():
            self._ensure_layout()
            blob = self._blob_path(manifest.digest)
            if not blob.exists():
                self._write_atomic(blob, manifest.data)
            index = self._read_index()
            name = f"{repository}:{tag}"
            kept = [e for e in index.get("manifests", []) if (e.get("annotations") or {}).get(REF_NAME) != name]
            kept.append(
                {
                    "mediaType": manifest.media_type,
                    "digest": manifest.digest,
                    "size": len(manifest.data),
                    "annotations": {REF_NAME: name},
                }
            )
            kept.sort(key=lambda e: ((e.get("annotations") or {}).get(REF_NAME, ""), e.get("digest", "")))
            index["manifests"] = kept
            self._write_atomic(self.root / "index.json", (json.dumps(index, indent=2) + "\n").encode())
        return manifest.digest

    def list_tags(self, repository: str) -> list[str]:
        """The tags of ``repository`` found in index.json."""
        prefix = f"{repository}:"
        tags = []
        for entry in self._read_index().get("manifests", []):
            name = (entry.get("annotations") or {}).get(REF_NAME, "") if isinstance(entry, dict) else ""
            if name.startswith(prefix) and "/" not in name[len(prefix) :]:
                tags.append(name[len(prefix) :])
        return sorted(tags)

    def has_blob(self, repository: str, digest: str) -> bool:
        """True when the blob file exists."""
        return self._blob_path(digest).exists()

    def put_blob(self, repository: str, data: bytes) -> str:
        """Write a blob file (content-addressed, so concurrent writers agree)."""
        digest = sha256_digest(data)
        path = self._blob_path(digest)
        if not path.exists():
            self._write_atomic(path, data)
        return digest


def _children(manifest: Manifest) -> list[str]:
    """The digests a manifest refers to: config and layers, or the manifests of an index."""
    try:
        doc = json.loads(manifest.data)
    except ValueError as exc:
        raise RegistryError(f"manifest {manifest.digest} is not JSON") from exc
    found: list[str] = []
    if isinstance(doc.get("config"), dict):
        found.append(str(doc["config"].get("digest")))
    for key in ("layers", "manifests"):
        for entry in doc.get(key) or []:
            if isinstance(entry, dict) and entry.get("digest"):
                found.append(str(entry["digest"]))
    return found
