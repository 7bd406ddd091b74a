"""One ``affected`` question answered end to end: find the spec, read git, load the settings.

The git reading runs on another thread while the spec's settings load: on a cache miss that is
pydantic and the spec model, and git's processes run on another core meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shipyard.background import Background
from shipyard.cache import Cache
from shipyard.spec.locate import find_spec
from shipyard.spec.views import load_view
from shipyard.workspace import affected_settings
from shipyard.workspace.affected import Affected, Range, RangeReading, default_base, read_range
from shipyard.workspace.affected_settings import AffectedSettings


@dataclass(frozen=True)
class Answer:
    """What is affected, the range it was computed on (``base`` as asked, or as chosen), and the
    spec's settings (for image names)."""

    affected: Affected
    span: Range
    base: str
    settings: AffectedSettings


def ask(root: Path, base: str | None, head: str = "HEAD") -> Answer:
    """The affected projects of the workspace holding ``root``, between the merge base of ``base``
    (default: the first of origin/HEAD, origin/main, main) and ``head``."""
    spec_path = find_spec(root)
    workspace_root = spec_path.parent
    cache = Cache.for_repository(workspace_root)

    def read() -> tuple[str, RangeReading]:
        chosen = base or default_base(workspace_root)
        return chosen, read_range(workspace_root, chosen, head, cache)

    reading = Background(read)
    # A spec error is reported before any git error: the spec is waited for first.
    settings = load_view(spec_path, AffectedSettings, cache, source=affected_settings.__file__)
    chosen, got = reading.result()
    return Answer(got.decide(settings.rules), got.span, chosen, settings)
