"""One ``affected`` question answered end to end: find the spec, read git, load the settings.

When the settings are not in the cache, a child process validates the spec (pydantic and the spec
model) while this one reads git, so the two use two cores.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shipyard.cache import Cache
from shipyard.errors import ShipyardError
from shipyard.spec.locate import find_spec
from shipyard.spec.views import start_view
from shipyard.workspace.affected import Affected, Range, default_base, read_range
from shipyard.workspace.affected_settings import AffectedSettings


@dataclass(frozen=True)
class Answer:
    """What is affected, the range it was computed on (``base`` as asked, or as chosen), and the
    spec's settings (for image names)."""

    affected: Affected
    span: Range
    base: str
    settings: AffectedSettings


def ask(root: Path, base: str | None, head: str = "HEAD", *, use_cache: bool = True) -> Answer:
    """The affected projects of the workspace holding ``root``, between the merge base of ``base``
    (default: the first of origin/HEAD, origin/main, main) and ``head``. Without ``use_cache`` nothing is
    read from or written to the repository's cache."""
    spec_path = find_spec(root)
    workspace_root = spec_path.parent
    cache = Cache.for_repository(workspace_root) if use_cache else Cache(None)
    settings = start_view(spec_path, AffectedSettings, cache)
    try:
        chosen = base or default_base(workspace_root)
        reading = read_range(workspace_root, chosen, head, cache)
    except ShipyardError:
        settings()  # a spec error is reported before a git error
        raise
    ready = settings()
    return Answer(reading.decide(ready.rules), reading.span, chosen, ready)
