"""What a scan report says, independent of the scanner that wrote it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class Severity(IntEnum):
    """Severities in gate order. Harbor's ``None`` and Trivy's ``UNKNOWN`` rank below ``LOW``."""

    NONE = 0
    UNKNOWN = 1
    LOW = 2
    MEDIUM = 3
    HIGH = 4
    CRITICAL = 5

    @classmethod
    def parse(cls, word: str) -> Severity:
        """A severity by its name in any case (``HIGH``, ``High``); ValueError for any other word.

        Never a default: a word nobody recognised is not a low severity, it is something not understood.
        """
        found = cls.__members__.get(word.upper()) if isinstance(word, str) else None
        if found is None:
            raise ValueError(f"unknown severity {word!r}; valid: {', '.join(s.name for s in SEVERITY_ORDER)}")
        return found

    @property
    def label(self) -> str:
        """The name as printed in summaries (Trivy's spelling)."""
        return self.name


# Printed columns, most severe first, as people read a security summary.
SEVERITY_ORDER: tuple[Severity, ...] = tuple(sorted(Severity, reverse=True))


@dataclass(frozen=True)
class Finding:
    """One vulnerability in one package of one target."""

    id: str
    package: str
    installed: str
    fixed: str
    severity: Severity
    title: str = ""

    @property
    def fixable(self) -> bool:
        """True when a fixed version exists (what ``--ignore-unfixed`` keeps)."""
        return bool(self.fixed)


@dataclass(frozen=True)
class Target:
    """A scanned thing inside a report: an OS layer, a lock file, an image.

    ``counts`` is set instead of ``findings`` when the report carries only totals (Harbor's scan overview).
    """

    name: str
    findings: tuple[Finding, ...] = ()
    counts: dict[Severity, int] | None = None


@dataclass(frozen=True)
class Report:
    """A parsed report file: which scanner format it was and its targets."""

    path: str
    format: str
    artifact: str
    targets: tuple[Target, ...] = field(default_factory=tuple)
