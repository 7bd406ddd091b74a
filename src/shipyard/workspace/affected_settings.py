"""What ``affected`` reads from the spec, as a view the cache can hold (see ``shipyard.spec.views``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Self

from shipyard.workspace.affected import Rules

if TYPE_CHECKING:
    from shipyard.spec.model import Platform


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TypeError("expected a list of strings")
    return tuple(value)


@dataclass(frozen=True)
class AffectedSettings:
    """The spec's workspace rules and where service images go."""

    kind: ClassVar[str] = "affected-settings"

    rules: Rules
    images: str  # the repository folder of service images, e.g. ``harbor.acme.example.com/services``

    def image(self, service: str) -> str:
        """A service's image repository, as ``Registry.image`` names it."""
        return f"{self.images}/{service}"

    @classmethod
    def from_platform(cls, platform: Platform) -> Self:
        """The settings of a validated spec."""
        workspace = platform.workspace
        return cls(Rules(tuple(workspace.global_files), tuple(workspace.ignore)), platform.registry.repositories)

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """The settings as ``to_json`` wrote them."""
        if not isinstance(data["images"], str):
            raise TypeError("images must be a string")
        return cls(Rules(_strings(data["globalFiles"]), _strings(data["ignore"])), data["images"])

    def to_json(self) -> dict[str, Any]:
        """The settings as JSON data."""
        return {"globalFiles": list(self.rules.global_files), "ignore": list(self.rules.ignore), "images": self.images}
