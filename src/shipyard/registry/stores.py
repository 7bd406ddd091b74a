"""Which store a reference lives in: the workspace's local OCI layout for ``localhost/...`` when the
platform uses ``registry.kind: local``, else the registry named by the reference's host."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from shipyard.registry.auth import Credentials
from shipyard.registry.client import RemoteRegistry
from shipyard.registry.layout import LayoutStore
from shipyard.registry.reference import Reference
from shipyard.registry.store import ImageStore

if TYPE_CHECKING:
    from shipyard.spec.model import Platform


class Stores:
    """Opens one store per registry host and keeps it for the command's lifetime (one connection pool)."""

    def __init__(
        self,
        *,
        layout: Path | None = None,
        layout_host: str = "localhost",
        insecure: bool = False,
        insecure_hosts: frozenset[str] = frozenset(),
        tag_prefix: str = "v",
        credentials: Credentials | None = None,
    ) -> None:
        self.tag_prefix = tag_prefix
        self.credentials = credentials
        self.layout = layout
        self.layout_host = layout_host
        self.insecure = insecure
        self.insecure_hosts = insecure_hosts
        self._open: dict[str, ImageStore] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_platform(
        cls,
        platform: Platform,
        root: Path,
        *,
        insecure: bool = False,
        credentials: Credentials | None = None,
    ) -> Stores:
        """Stores as ``platform`` (whose ``shipyard.yaml`` is in ``root``) configures them."""
        registry, prefix = platform.registry, platform.versioning.tag_prefix
        if registry.kind == "local":
            return cls(
                layout=root / registry.url,
                layout_host=registry.host,
                insecure=insecure,
                tag_prefix=prefix,
                credentials=credentials,
            )
        hosts = frozenset({registry.host}) if registry.insecure else frozenset()
        return cls(insecure=insecure, insecure_hosts=hosts, tag_prefix=prefix, credentials=credentials)

    def store(self, reference: Reference) -> ImageStore:
        """The store holding ``reference``'s repository."""
        with self._lock:
            if reference.host not in self._open:
                if self.layout is not None and reference.host == self.layout_host:
                    self._open[reference.host] = LayoutStore(self.layout)
                else:
                    self._open[reference.host] = RemoteRegistry(
                        reference.host,
                        insecure=self.insecure or reference.host in self.insecure_hosts,
                        credentials=self.credentials,
                    )
            return self._open[reference.host]

    def close(self) -> None:
        """Close every store opened."""
        for store in self._open.values():
            store.close()
        self._open.clear()

    def __enter__(self) -> Stores:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
