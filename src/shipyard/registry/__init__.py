"""Images: references, the OCI distribution client, the local OCI layout store, and tagging by manifest."""

from shipyard.registry.client import RemoteRegistry
from shipyard.registry.layout import LayoutStore
from shipyard.registry.reference import Reference, parse_reference
from shipyard.registry.store import ImageStore, Manifest, NotFound, RegistryError
from shipyard.registry.stores import Stores

__all__ = [
    "ImageStore",
    "LayoutStore",
    "Manifest",
    "NotFound",
    "Reference",
    "RegistryError",
    "RemoteRegistry",
    "Stores",
    "parse_reference",
]
