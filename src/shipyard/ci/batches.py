"""Split the affected services into batches a Tekton matrix can fan out over.

Tekton caps a matrix (256 combinations by default) and a task result (4 KiB by default, the
termination message). So the matrix runs over batch *indexes* ("0", "1", ...) and each batch's
service names stay in a file on the shared workspace: the result stays small for any monorepo.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.bounded import MIB, read_json
from shipyard.errors import ShipyardError

RESULT_LIMIT = 4096
MAX_LIST_FILE = 4 * MIB
"""The size limit of a matrix or batches file (20,000 project names fit many times over)."""
# A project's folder name; the names are printed for step scripts, so nothing that reads as an option.
_PROJECT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,99}", re.ASCII)


@dataclass(frozen=True)
class Batches:
    """The batches of affected services, and the index array the matrix fans out over."""

    batches: list[list[str]]

    @property
    def indexes(self) -> str:
        """The Tekton array result (see ``result_text``)."""
        return result_text(self.batches)

    def to_json(self) -> dict[str, Any]:
        """For JSON output: each batch's services, by index."""
        return {"batches": self.batches}


@dataclass(frozen=True)
class ServiceList:
    """Service names, one per line for people and steps."""

    services: list[str]

    def to_json(self) -> dict[str, Any]:
        """For JSON output."""
        return {"services": self.services}


def read_matrix(path: Path) -> list[str]:
    """The service names of ``shipyard affected --format matrix`` (a JSON array of strings)."""
    data: Any = read_json(path, MAX_LIST_FILE, f"the affected matrix {path}")
    if not isinstance(data, list) or not all(isinstance(item, str) and _PROJECT.fullmatch(item) for item in data):
        raise ShipyardError(f"{path}: expected a JSON array of service names, as `shipyard affected --format matrix`")
    return list(dict.fromkeys(data))


def split(services: list[str], max_batches: int) -> list[list[str]]:
    """At most ``max_batches`` batches whose sizes differ by at most one, in the given order; none for none."""
    if max_batches < 1:
        raise ShipyardError(f"--max-batches must be at least 1, not {max_batches}")
    count = min(len(services), max_batches)
    if count == 0:
        return []
    size, bigger = divmod(len(services), count)
    batches, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < bigger else 0)
        batches.append(services[start:end])
        start = end
    return batches


def matrix_batches(services: list[str], max_batches: int) -> list[list[str]]:
    """The batches a pipeline fans out over: ``split``, but one empty batch when nothing is affected.

    Tekton skips a task whose matrix is empty *and every task after it*, so the version's tags, the preview
    and the feedback would not happen; one empty batch keeps the pipeline whole (its steps do nothing).
    """
    return split(services, max_batches) or [[]]


def result_text(batches: list[list[str]]) -> str:
    """The array result: the batch indexes as JSON strings; refuses what would not fit in a task result."""
    text = json.dumps([str(i) for i in range(len(batches))], separators=(",", ":"))
    if len(text.encode()) > RESULT_LIMIT:
        raise ShipyardError(
            f"{len(batches)} batches do not fit in a {RESULT_LIMIT}-byte task result; lower --max-batches"
        )
    return text


def batch(path: Path, index: int) -> list[str]:
    """The services of one batch from the batches file written by ``shipyard ci batches``."""
    data: Any = read_json(path, MAX_LIST_FILE, f"the batches file {path}")
    if not isinstance(data, list) or not 0 <= index < len(data):
        size = len(data) if isinstance(data, list) else 0
        raise ShipyardError(f"batch {index} does not exist; valid: 0..{size - 1}" if size else f"{path}: no batches")
    names = data[index]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ShipyardError(f"{path}: batch {index} is not a list of service names")
    return names
