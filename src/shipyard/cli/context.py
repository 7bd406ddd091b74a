"""The one context loader of the CLI: the spec found from ``--root``, its folder, and on demand the config
repo and the registry's tag lookup. Every command that needs the spec gets it here, the same way."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shipyard.promotion.tags import StoreTags
    from shipyard.spec.model import Platform
    from shipyard.workspace.model import Workspace


@dataclass
class Context:
    """The platform, the folder holding its ``shipyard.yaml``, and the ``--config-repo`` given (if any)."""

    platform: Platform
    root: Path
    spec_path: Path
    given_config_repo: str | None = None
    _tags: StoreTags | None = field(default=None, repr=False)

    @cached_property
    def config_repo(self) -> str:
        """The config repo's URL or absolute path: ``--config-repo``, else ``repos.config`` of the spec."""
        from shipyard.configrepo.location import resolve_config_repo

        return resolve_config_repo(self.platform, self.root, self.given_config_repo)

    @property
    def tags(self) -> StoreTags:
        """The registry of ``shipyard.yaml`` as a tag lookup; nothing is opened until a tag is asked for."""
        if self._tags is None:
            from shipyard.promotion.tags import StoreTags
            from shipyard.registry.stores import Stores

            self._tags = StoreTags(Stores.for_platform(self.platform, self.root))
        return self._tags

    def workspace(self) -> Workspace:
        """The monorepo beside the spec: its services, packages and their dependencies."""
        from shipyard.workspace.discovery import discover

        return discover(self.root)

    def close(self) -> None:
        """Close what was opened (the registry's connection pools)."""
        if self._tags is not None:
            self._tags.close()


def load_context(start: Path, config_repo: str | None = None) -> Context:
    """Find ``shipyard.yaml`` at or above ``start`` and load it; the config repo is resolved when asked for."""
    from shipyard.spec.loader import load_spec
    from shipyard.spec.locate import find_spec

    spec = find_spec(start)
    return Context(platform=load_spec(spec), root=spec.parent, spec_path=spec, given_config_repo=config_repo)
