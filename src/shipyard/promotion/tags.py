"""Which digest a tag names: the one registry question of the production gate and ``freight add --from-registry``.

The promotion executor depends on this small protocol, not on a registry client. Its one implementation,
``StoreTags``, asks the ``ImageStore`` that holds each image (``registry.stores.Stores`` picks it from
``shipyard.yaml``): the local OCI layout for ``registry.kind: local``, the OCI distribution client for
``oci`` and ``harbor``. Tests can pass any object with ``digest_of``.
"""

from __future__ import annotations

from typing import Protocol

from shipyard.registry.reference import check_tag, parse_reference
from shipyard.registry.stores import Stores


class TagLookup(Protocol):
    """The registry question a promotion asks."""

    def digest_of(self, image: str, tag: str) -> str | None:
        """The digest ``image:tag`` (``image`` is ``host/repository``) points at, or None when the tag is absent."""
        ...


class StoreTags:
    """``TagLookup`` over the platform's image stores (one per registry host, opened on first use)."""

    def __init__(self, stores: Stores) -> None:
        self.stores = stores

    def digest_of(self, image: str, tag: str) -> str | None:
        """A manifest HEAD of ``image:tag`` in the store that holds ``image``."""
        reference = parse_reference(image).with_tag(check_tag(tag))
        return self.stores.store(reference).head_manifest(reference.repository, tag)

    def close(self) -> None:
        """Close the stores opened (connection pools)."""
        self.stores.close()
