"""The spec's duration fields: kept as written (``90s``, ``10m``, ``24h``, ``7d``, ``2w``, ``1d12h``), checked on load
by the one duration parser in ``shipyard.times``."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from shipyard.times import parse_duration


def _check(text: str) -> str:
    parse_duration(text)
    return text


Duration = Annotated[str, AfterValidator(_check)]
"""A duration kept as written (so it round-trips into annotations) but checked on load."""
