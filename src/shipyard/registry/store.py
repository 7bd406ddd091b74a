"""The one interface every image store implements: a remote registry (OCI distribution API) and a
local OCI image layout directory behave the same to the commands above them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Protocol

from shipyard.errors import ShipyardError

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
# Every manifest kind we can re-tag: without the full list a registry may convert (and re-digest) it.
MANIFEST_TYPES = (OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST)


class RegistryError(ShipyardError):
    """A registry refused or failed a request; the message names the registry, repository and cause."""


class NotFound(RegistryError):
    """The repository, tag or digest does not exist."""


def sha256_digest(data: bytes) -> str:
    """The OCI digest of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Manifest:
    """A manifest exactly as stored: its bytes, media type and digest (the digest of those bytes)."""

    data: bytes
    media_type: str
    digest: str

    @classmethod
    def from_bytes(cls, data: bytes, media_type: str | None = None) -> Manifest:
        """A manifest from its bytes (at most MAX_MANIFEST); the media type comes from the document when not given."""
        from shipyard.bounded import MAX_MANIFEST, check_size

        check_size(len(data), MAX_MANIFEST, "the manifest")
        if not media_type:
            try:
                media_type = str(json.loads(data).get("mediaType") or OCI_MANIFEST)
            except (ValueError, AttributeError):
                media_type = OCI_MANIFEST
        return cls(data, media_type.split(";", 1)[0].strip(), sha256_digest(data))


class ImageStore(Protocol):
    """What Shipyard needs from a place that holds images."""

    @property
    def location(self) -> str:
        """Where the store is, for messages (a URL or a folder)."""
        ...

    def get_manifest(self, repository: str, reference: str) -> Manifest:
        """The manifest a tag or digest names; NotFound when absent."""
        ...

    def head_manifest(self, repository: str, reference: str) -> str | None:
        """The digest a tag or digest names, or None when absent."""
        ...

    def put_manifest(self, repository: str, tag: str, manifest: Manifest) -> str:
        """Store ``manifest`` under ``tag`` exactly as given; returns the digest the store reports."""
        ...

    def list_tags(self, repository: str) -> list[str]:
        """Every tag of a repository (empty when the repository does not exist), sorted."""
        ...

    def has_blob(self, repository: str, digest: str) -> bool:
        """True when the store holds the blob."""
        ...

    def put_blob(self, repository: str, data: bytes) -> str:
        """Store a blob (a layer or a config); returns its digest."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...
