"""The allow-list: vulnerabilities accepted for a while, each with a reason and an expiry date.

An entry without both is refused: an exception nobody has to justify or revisit is how gates rot.
From the day after its expiry an entry no longer applies, and the gate says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shipyard.scan.model import Finding
from shipyard.scan.parse import ScanInputError


class AllowEntry(BaseModel):
    """One accepted vulnerability. ``package`` and ``target`` narrow it; without them it applies everywhere."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    reason: str = Field(min_length=3)
    expires: dt.date
    package: str | None = None
    target: str | None = None

    def matches(self, target: str, finding: Finding) -> bool:
        """True when this entry names the finding (expiry is checked separately)."""
        return (
            self.id == finding.id
            and (self.package is None or self.package == finding.package)
            and (self.target is None or self.target == target)
        )

    def expired(self, today: dt.date) -> bool:
        """True from the day after ``expires``: the expiry date itself is still covered."""
        return today > self.expires


@dataclass(frozen=True)
class Allowlist:
    """The entries of an allow-list file, in file order."""

    path: str
    entries: tuple[AllowEntry, ...] = ()

    def match(self, target: str, finding: Finding) -> AllowEntry | None:
        """The first entry naming the finding, expired or not."""
        return next((e for e in self.entries if e.matches(target, finding)), None)


def load_allowlist(path: Path) -> Allowlist:
    """Read an allow-list (YAML or JSON): a list of entries, or a mapping with the list under ``allow``."""
    from shipyard.bounded import MIB, InputError, read_yaml

    if not path.is_file():
        raise ScanInputError(f"{path}: no such allow-list file")
    try:
        data: Any = read_yaml(path, MIB, str(path))
    except InputError as exc:  # not YAML, or over the size, depth or alias limits
        raise ScanInputError(exc.message) from None
    if data is None:
        return Allowlist(path=str(path))
    if isinstance(data, dict) and set(data) == {"allow"}:
        data = data["allow"] or []
    if not isinstance(data, list):
        raise ScanInputError(
            f"{path}: expected a list of entries (or `allow:` with a list)",
            hint="each entry: {id: CVE-..., reason: why it is acceptable, expires: YYYY-MM-DD}",
        )
    entries: list[AllowEntry] = []
    for index, item in enumerate(data):
        try:
            entries.append(AllowEntry.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "entry"
            raise ScanInputError(
                f"{path}: entry {index + 1}: {field}: {first['msg']}",
                hint="each entry needs id, reason and expires (YYYY-MM-DD); package and target are optional",
            ) from exc
    return Allowlist(path=str(path), entries=tuple(entries))
