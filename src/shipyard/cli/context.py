"""The one context loader of the CLI: the spec found from ``--root``, its folder, and on demand the config
repo, the workspace, the registries and the registry's tag lookup. Every command that needs the spec gets
it here, the same way; commands that also work outside a workspace (versions, images) use
``find_context``, which answers None there."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from shipyard.promotion.tags import StoreTags
    from shipyard.registry.auth import Credentials
    from shipyard.registry.stores import Stores
    from shipyard.spec.model import Platform
    from shipyard.workspace.model import Workspace

# Where `shipyard render` keeps its checkout of a config repo that lives on this machine.
LOCAL_CHECKOUT = Path(".shipyard") / "gitops-config"


@dataclass
class Context:
    """The platform, the folder holding its ``shipyard.yaml``, and the ``--config-repo`` given (if any)."""

    platform: Platform
    root: Path
    spec_path: Path
    given_config_repo: str | None = None
    registry_credentials: Credentials | None = field(default=None, repr=False)
    _tags: StoreTags | None = field(default=None, repr=False)

    @cached_property
    def config_repo(self) -> str:
        """The config repo's URL or absolute path: ``--config-repo``, else ``repos.config`` of the spec."""
        from shipyard.configrepo.location import resolve_config_repo

        return resolve_config_repo(self.platform, self.root, self.given_config_repo)

    @property
    def local_checkout(self) -> Path | None:
        """The checkout ``render`` writes for a config repo on this machine; None for a remote one."""
        from shipyard.configrepo.location import is_remote

        config = self.platform.repos.config
        return self.root / LOCAL_CHECKOUT if config and not is_remote(config) else None

    @property
    def tags(self) -> StoreTags:
        """The registry of ``shipyard.yaml`` as a tag lookup; nothing is opened until a tag is asked for."""
        if self._tags is None:
            from shipyard.promotion.tags import StoreTags

            self._tags = StoreTags(self.stores())
        return self._tags

    def stores(self, *, insecure: bool = False) -> Stores:
        """The image stores as ``shipyard.yaml`` configures them (its local layout, its registry's rules)."""
        from shipyard.registry.stores import Stores

        return Stores.for_platform(self.platform, self.root, insecure=insecure, credentials=self.registry_credentials)

    @cached_property
    def _workspace(self) -> Workspace:
        from shipyard.workspace.discovery import discover

        return discover(self.root)

    def workspace(self) -> Workspace:
        """The monorepo beside the spec: its services, packages and their dependencies (discovered once)."""
        return self._workspace

    def close(self) -> None:
        """Close what was opened (the registry's connection pools)."""
        if self._tags is not None:
            self._tags.close()


def load_context(
    start: Path, config_repo: str | None = None, *, registry_credentials: Credentials | None = None
) -> Context:
    """Find ``shipyard.yaml`` at or above ``start`` and load it; the config repo is resolved when asked for."""
    from shipyard.spec.loader import load_spec
    from shipyard.spec.locate import find_spec

    spec = find_spec(start)
    return Context(
        platform=load_spec(spec),
        root=spec.parent,
        spec_path=spec,
        given_config_repo=config_repo,
        registry_credentials=registry_credentials,
    )


def find_context(
    start: Path, config_repo: str | None = None, *, registry_credentials: Credentials | None = None
) -> Context | None:
    """Like ``load_context``, but None when no ``shipyard.yaml`` is at or above ``start`` (an invalid one
    is still an error): for commands that work in any git repository or with any registry."""
    from shipyard.spec.locate import find_root

    if find_root(start) is None:
        return None
    return load_context(start, config_repo, registry_credentials=registry_credentials)


def versioning_policy(start: Path) -> tuple[str, Literal["minor", "conventional"]]:
    """``(tag prefix, bump policy)`` of the workspace at or above ``start``; the defaults outside one."""
    from shipyard.versioning.policy import policy_of

    ctx = find_context(start)
    return policy_of(ctx.platform if ctx else None)


def open_stores(context: Context | None, *, insecure: bool = False, credentials: Credentials | None = None) -> Stores:
    """The stores of ``context``'s platform, or plain registries when there is no workspace."""
    if context is not None:
        return context.stores(insecure=insecure)
    from shipyard.registry.stores import Stores

    return Stores(insecure=insecure, credentials=credentials)


def workspace_root(start: Path) -> Path | None:
    """The folder holding ``shipyard.yaml`` at or above ``start``, without loading the spec (for commands
    that only need the workspace's project names and must start fast, like ``branch check``)."""
    from shipyard.spec.locate import find_root

    return find_root(start)
