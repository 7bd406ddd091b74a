"""The two ways ``ci run`` refuses its input before anything runs: a Tekton feature it does not execute, and
objects Tekton itself would reject (exit 2 both)."""

from __future__ import annotations

from shipyard.errors import ShipyardError


class UnsupportedFeature(ShipyardError):
    """A Tekton feature the local executor does not implement; never skipped silently."""

    def __init__(self, feature: str, *, where: str | None = None, hint: str | None = None) -> None:
        text = f"unsupported Tekton feature: {feature}"
        super().__init__(f"{text} ({where})" if where else text, hint=hint)
        self.feature = feature


class TektonInputError(ShipyardError):
    """Objects or inputs Tekton would refuse at admission or before the first TaskRun (exit 2)."""
