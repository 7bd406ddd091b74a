"""Read-only questions about a registry: which digest a reference names, which tags a repository has."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shipyard.registry.reference import Reference
from shipyard.registry.store import NotFound
from shipyard.registry.stores import Stores


@dataclass(frozen=True)
class Resolved:
    """The digest a reference names."""

    reference: str
    digest: str

    def to_json(self) -> dict[str, Any]:
        """For JSON output (documented in docs/registries.md)."""
        return {"reference": self.reference, "digest": self.digest}


@dataclass(frozen=True)
class TagList:
    """Every tag of a repository."""

    repository: str
    tags: list[str]

    def to_json(self) -> dict[str, Any]:
        """For JSON output (documented in docs/registries.md)."""
        return {"repository": self.repository, "tags": self.tags}


def resolve(stores: Stores, reference: Reference) -> Resolved:
    """The digest ``reference`` names (``latest`` when it names neither tag nor digest); NotFound if none."""
    ref = reference if reference.ref is not None else reference.with_tag("latest")
    digest = stores.store(ref).head_manifest(ref.repository, ref.ref or "latest")
    if digest is None:
        raise NotFound(f"{ref}: not found")
    return Resolved(str(ref), digest)


def list_tags(stores: Stores, repository: Reference) -> TagList:
    """Every tag of ``repository`` (every page)."""
    return TagList(repository.name, stores.store(repository).list_tags(repository.repository))
