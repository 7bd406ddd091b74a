"""The versioning policy of a workspace (tag prefix, bump policy): its spec's, or the defaults without one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from shipyard.spec.model import Platform


def policy_of(platform: Platform | None) -> tuple[str, Literal["minor", "conventional"]]:
    """``(tag prefix, bump policy)`` of ``platform``; the defaults (``v``, ``minor``) outside a workspace."""
    if platform is None:
        return "v", "minor"
    return platform.versioning.tag_prefix, platform.versioning.bump
