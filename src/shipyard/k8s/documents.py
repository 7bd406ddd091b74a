"""What validation reads and reports: YAML documents of a config repo and findings about them, plus the
small helpers every check shares (JSON paths, the promotion steps of a Stage or task)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Finding:
    """One result: where (file, 1-based document, kind/name, JSON path), which check, and what."""

    file: str
    document: int | None
    object: str | None
    path: str
    check: str
    severity: Severity
    message: str

    def line(self) -> str:
        """A one-line, human-readable form."""
        where = self.file + (f"#{self.document}" if self.document else "")
        what = f" {self.object}" if self.object else ""
        at = f" at {self.path}" if self.path and self.path != "$" else ""
        return f"{self.severity}: {where}{what}{at}: {self.message} [{self.check}]"


@dataclass
class Report:
    """All findings of a validation and what was looked at."""

    findings: list[Finding] = field(default_factory=list)
    documents: int = 0
    overlays: int = 0

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings and infos do not fail a validation)."""
        return not any(f.severity == "error" for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        """The report as data for ``--json``."""
        return {
            "ok": self.ok,
            "documents": self.documents,
            "overlays": self.overlays,
            "findings": [asdict(f) for f in self.findings],
        }


@dataclass(frozen=True)
class Document:
    """One YAML document of the tree."""

    file: str
    index: int
    data: dict[str, Any]

    @property
    def kind(self) -> str:
        """The document's kind."""
        return str(self.data.get("kind", ""))

    @property
    def name(self) -> str:
        """metadata.name."""
        meta = self.data.get("metadata")
        return str(meta.get("name", "")) if isinstance(meta, dict) else ""

    @property
    def label(self) -> str:
        """``Kind/name``."""
        return f"{self.kind}/{self.name}"


def json_path(parts: Any) -> str:
    """``$.spec.containers[0].image`` from a sequence of keys and indexes."""
    text = "$"
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def kargo_steps(doc: Document) -> Iterator[tuple[list[str | int], dict[str, Any]]]:
    """The promotion steps of a Stage's template or of a (Cluster)PromotionTask, with their JSON paths."""
    spec = doc.data.get("spec") or {}
    if doc.kind == "Stage":
        steps = ((spec.get("promotionTemplate") or {}).get("spec") or {}).get("steps") or []
        prefix: list[str | int] = ["spec", "promotionTemplate", "spec", "steps"]
    elif doc.kind in ("PromotionTask", "ClusterPromotionTask"):
        steps = spec.get("steps") or []
        prefix = ["spec", "steps"]
    else:
        return
    for index, step in enumerate(steps):
        if isinstance(step, dict):
            yield [*prefix, index], step


_VARIABLE = re.compile(r"\$\{\{\s*vars\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def substitute_vars(value: str, variables: dict[str, str]) -> str:
    """``value`` with every ``${{ vars.<name> }}`` of a known variable replaced by its value, as Kargo
    evaluates a step's config; other expressions stay as written."""
    return _VARIABLE.sub(lambda m: variables.get(m.group(1), m.group(0)), value)
