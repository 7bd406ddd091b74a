"""The webhook queue on disk: one file per accepted delivery, written and synced before the sender is answered,
moved to ``done/`` (as a record of what processing did) once it has been processed.

Layout under the queue folder::

    pending/<seq>.<source>.<id>.delivery   a JSON header line, then the body exactly as it arrived
    done/<seq>.<source>.<id>.json          the header and the outcome, without the body

``seq`` is a nanosecond clock reading made strictly increasing, so names sort in arrival order across
restarts. A delivery's id (GitHub's ``X-GitHub-Delivery``, or the digest of a Harbor body) is known from
the file names alone, so de-duplication survives a restart without reading a file. Records older than the
retention are removed, and with them the memory of their ids.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from shipyard.errors import ShipyardError

SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
SOURCES = ("github", "harbor")
_NAME = re.compile(r"([0-9]{20})\.(github|harbor)\.([A-Za-z0-9][A-Za-z0-9_-]{0,99})")
PENDING_SUFFIX = ".delivery"
DONE_SUFFIX = ".json"


class QueueError(ShipyardError):
    """The queue folder cannot be used (not writable, or a file in it is damaged)."""


@dataclass(frozen=True)
class Delivery:
    """One accepted webhook delivery: where it came from, its id, event, serialisation key and raw body."""

    source: str
    id: str
    event: str
    key: str
    received: float
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = field(default=b"", repr=False)
    seq: int = 0
    recovered: bool = False

    def __post_init__(self) -> None:
        if self.source not in SOURCES or SAFE_ID.fullmatch(self.id) is None:
            raise QueueError(f"a delivery needs a known source and a plain id, not {self.source}/{self.id!r}")

    @property
    def name(self) -> str:
        """The file name's stem: sequence, source and id."""
        return f"{self.seq:020d}.{self.source}.{self.id}"

    def header(self) -> dict[str, Any]:
        """What is kept of the delivery besides its body (camelCase keys, for the API too)."""
        return {
            "name": self.name,
            "source": self.source,
            "id": self.id,
            "event": self.event,
            "key": self.key,
            "received": self.received,
            "headers": self.headers,
            "size": len(self.body),
        }


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes) -> None:
    """``data`` at ``path`` whole or not at all: a synced temporary file renamed over it, the folder synced."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    tmp.replace(path)
    _fsync_dir(path.parent)


class DurableQueue:
    """Accepted deliveries on disk, and the ids already seen. Thread-safe."""

    def __init__(self, root: Path, *, retention: float, clock: Callable[[], float] = time.time) -> None:
        self.pending_dir = root / "pending"
        self.done_dir = root / "done"
        self.retention = retention
        self.clock = clock
        try:
            self.pending_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.done_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise QueueError(f"{root}: cannot make the queue folders ({exc.strerror})") from exc
        self._lock = threading.Lock()
        self._known: dict[str, str] = {}  # "source:id" -> name
        self._last_seq = 0

    # -- start-up -------------------------------------------------------------------------------

    def recover(self) -> list[Delivery]:
        """Read the folders: remember every id, finish what was done, and return what is still pending, in order.

        A pending file whose done record exists was processed just before a stop: only its removal was
        missing. Temporary files are writes that never completed; their senders got no answer.
        """
        with self._lock:
            for folder in (self.pending_dir, self.done_dir):
                for stray in folder.glob(".*.tmp"):
                    stray.unlink(missing_ok=True)
            done = {p.name.removesuffix(DONE_SUFFIX) for p in self.done_dir.glob(f"*{DONE_SUFFIX}")}
            for name in done:
                self._remember(name)
            waiting: list[Delivery] = []
            for path in sorted(self.pending_dir.glob(f"*{PENDING_SUFFIX}")):
                name = path.name.removesuffix(PENDING_SUFFIX)
                if name in done:
                    path.unlink(missing_ok=True)
                    continue
                if self._remember(name):
                    waiting.append(replace(self._load(path), recovered=True))
            _fsync_dir(self.pending_dir)
        self.prune()
        return waiting

    def _remember(self, name: str) -> bool:
        match = _NAME.fullmatch(name)
        if match is None:
            return False
        seq, source, ident = match.groups()
        self._known[f"{source}:{ident}"] = name
        self._last_seq = max(self._last_seq, int(seq))
        return True

    def _load(self, path: Path) -> Delivery:
        raw = path.read_bytes()
        line, _, body = raw.partition(b"\n")
        try:
            head = json.loads(line)
            return Delivery(
                source=head["source"],
                id=head["id"],
                event=head["event"],
                key=head["key"],
                received=float(head["received"]),
                headers=dict(head["headers"]),
                body=body,
                seq=int(path.name.split(".", 1)[0]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise QueueError(f"{path}: a damaged queue file ({exc})", hint="move it away to start") from None

    # -- accepting ------------------------------------------------------------------------------

    def accept(self, delivery: Delivery) -> Delivery | None:
        """Write ``delivery`` durably and return it with its sequence number; None when its id was seen before."""
        key = f"{delivery.source}:{delivery.id}"
        with self._lock:
            if key in self._known:
                return None
            seq = max(self._last_seq + 1, time.time_ns())
            self._last_seq = seq
            queued = replace(delivery, seq=seq)
            self._known[key] = queued.name  # reserved now: a concurrent copy is a duplicate
        try:
            head = json.dumps(queued.header(), sort_keys=True).encode()
            write_atomically(self.pending_dir / f"{queued.name}{PENDING_SUFFIX}", head + b"\n" + queued.body)
        except OSError as exc:
            with self._lock:
                self._known.pop(key, None)
            raise QueueError(f"cannot write the delivery to {self.pending_dir} ({exc.strerror})") from exc
        return queued

    def seen(self, source: str, ident: str) -> bool:
        """True when a delivery with this id was accepted (and its record is still kept)."""
        with self._lock:
            return f"{source}:{ident}" in self._known

    # -- finishing ------------------------------------------------------------------------------

    def complete(self, delivery: Delivery, outcome: dict[str, Any]) -> dict[str, Any]:
        """Record ``outcome`` in ``done/`` (synced), then remove the pending file; return the record."""
        record = {
            **delivery.header(),
            "recovered": delivery.recovered,
            "finished": self.clock(),
            "outcome": outcome,
        }
        data = json.dumps(record, sort_keys=True).encode()
        write_atomically(self.done_dir / f"{delivery.name}{DONE_SUFFIX}", data)
        (self.pending_dir / f"{delivery.name}{PENDING_SUFFIX}").unlink(missing_ok=True)
        return record

    def prune(self) -> int:
        """Remove done records older than the retention (their ids are forgotten with them); the number removed."""
        horizon = self.clock() - self.retention
        removed = 0
        for path in self.done_dir.glob(f"*{DONE_SUFFIX}"):
            name = path.name.removesuffix(DONE_SUFFIX)
            match = _NAME.fullmatch(name)
            if match is None or int(match.group(1)) / 1e9 >= horizon:
                continue
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
            with self._lock:
                if self._known.get(f"{match.group(2)}:{match.group(3)}") == name:
                    del self._known[f"{match.group(2)}:{match.group(3)}"]
        return removed

    # -- reading --------------------------------------------------------------------------------

    def pending(self) -> list[dict[str, Any]]:
        """The headers of the deliveries not yet processed, oldest first."""
        heads = []
        for path in sorted(self.pending_dir.glob(f"*{PENDING_SUFFIX}")):
            with contextlib.suppress(FileNotFoundError, QueueError):
                heads.append(self._load(path).header())
        return heads

    def done(self, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` done records, newest first."""
        names = sorted((p.name for p in self.done_dir.glob(f"*{DONE_SUFFIX}")), reverse=True)[:limit]
        records = []
        for name in names:
            with contextlib.suppress(FileNotFoundError, ValueError):
                records.append(json.loads((self.done_dir / name).read_bytes()))
        return records

    def record(self, name: str) -> dict[str, Any] | None:
        """The done record called ``name``, or the header of the pending delivery, or None."""
        if _NAME.fullmatch(name) is None:
            return None
        done = self.done_dir / f"{name}{DONE_SUFFIX}"
        with contextlib.suppress(FileNotFoundError, ValueError):
            return dict(json.loads(done.read_bytes()))
        pending = self.pending_dir / f"{name}{PENDING_SUFFIX}"
        with contextlib.suppress(FileNotFoundError, QueueError):
            return {**self._load(pending).header(), "outcome": None}
        return None
