"""The base of every spec model, in a module of its own so that the spec's sections can live in
modules of their own too."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class SpecModel(BaseModel):
    """Base of every spec model: camelCase keys, unknown keys rejected, immutable once loaded."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DnsLabel = Annotated[str, Field(pattern=rf"^{DNS_LABEL}$", max_length=63)]
