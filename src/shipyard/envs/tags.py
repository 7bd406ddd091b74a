"""Which tags an image digest carries: what the production gate and ``freight add --from-registry`` ask.

The promotion executor needs only two questions of a registry, so it depends on this small protocol,
not on a registry client. The embedded default (``registry.kind: local``) is an OCI image layout
directory, answered here from its ``index.json``; a remote registry client answers the same protocol.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

from shipyard.errors import ShipyardError

REF_NAME = "org.opencontainers.image.ref.name"


class TagLookup(Protocol):
    """The registry questions a promotion asks."""

    def tags_for_digest(self, image: str, digest: str) -> set[str]:
        """The tags of ``image`` (``host/path``) that point at ``digest``."""
        ...

    def digest_of(self, image: str, tag: str) -> str | None:
        """The digest ``image:tag`` points at, or None when the tag does not exist."""
        ...


class OciLayoutTags:
    """Tags of an OCI image layout directory: ``index.json`` descriptors named ``repository:tag``.

    ``host`` is the registry host of image references (``localhost`` for the local layout); a
    reference name may be written with or without it.
    """

    def __init__(self, root: Path, host: str = "localhost") -> None:
        self.root = root
        self.host = host

    def _entries(self) -> list[tuple[str, str, str]]:
        """(repository, tag, digest) of every named descriptor."""
        path = self.root / "index.json"
        if not path.exists():
            return []
        try:
            data: Any = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ShipyardError(f"{path}: not valid JSON: {exc}") from exc
        found = []
        for entry in data.get("manifests", []) if isinstance(data, dict) else []:
            if not isinstance(entry, dict):
                continue
            name = str((entry.get("annotations") or {}).get(REF_NAME, ""))
            repository, sep, tag = name.rpartition(":")
            if sep and "/" not in tag and repository:
                found.append((self._repository(repository), tag, str(entry.get("digest", ""))))
        return found

    def _repository(self, name: str) -> str:
        prefix = f"{self.host}/"
        return name[len(prefix) :] if name.startswith(prefix) else name

    def tags_for_digest(self, image: str, digest: str) -> set[str]:
        """The tags of ``image`` pointing at ``digest``."""
        repository = self._repository(image)
        return {tag for repo, tag, found in self._entries() if repo == repository and found == digest}

    def digest_of(self, image: str, tag: str) -> str | None:
        """The digest of ``image:tag``, or None."""
        repository = self._repository(image)
        for repo, found_tag, digest in self._entries():
            if repo == repository and found_tag == tag:
                return digest
        return None


def tags_for(registry_kind: str, layout: Path, host: str = "localhost") -> TagLookup | None:
    """The tag lookup of the platform's registry: the layout directory for ``registry.kind: local``.

    None for a remote registry: its client (the registries issue's OCI client) answers this protocol and
    is passed in by the caller that has it; without one, gates that need tags say so instead of guessing.
    """
    return OciLayoutTags(layout, host) if registry_kind == "local" else None
