"""Harbor's webhook: the ``Authorization`` header ``harbor apply`` configured, compared in constant time before
the body is parsed, then the event payload (Harbor's "Default" format) validated field by field.

Harbor sends no delivery id. A delivery is identified by the digest of its body, which carries the event's
time (``occur_at``): a retry of the same event is a duplicate, and a copy older than the replay window is
refused as stale.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shipyard.serve.refusal import Refused, json_object

# The events that end a vulnerability scan; each leads to the pull request's comment (a failed or stopped
# scan says "not scanned", never "clean").
SCAN_EVENTS = frozenset({"SCANNING_COMPLETED", "SCANNING_FAILED", "SCANNING_STOPPED"})
EVENT_TYPE = re.compile(r"[A-Z][A-Z_]{0,63}")
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
NAME = re.compile(r"[a-z0-9][a-z0-9._/-]{0,254}")  # Harbor's project and repository names
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


@dataclass(frozen=True)
class Artifact:
    """One artifact an event is about: its digest and the tag Harbor named (if any)."""

    digest: str
    tag: str | None


@dataclass(frozen=True)
class HarborEvent:
    """A validated Harbor event."""

    id: str
    type: str
    occurred: float
    project: str
    repository: str
    artifacts: tuple[Artifact, ...]
    scan_type: str | None

    @property
    def wanted(self) -> bool:
        """True for the end of a vulnerability scan, the only events that lead to work."""
        return self.type in SCAN_EVENTS and self.scan_type in (None, "vulnerability") and bool(self.artifacts)

    @property
    def key(self) -> str:
        """What must not run twice at once: the artifact."""
        return f"harbor:{self.project}/{self.repository}@{self.artifacts[0].digest if self.artifacts else ''}"


def read_harbor(
    headers: Mapping[str, str], raw: bytes, auth: bytes | None, *, now: float, window: float, skew: float
) -> HarborEvent:
    """Authenticate and validate one Harbor event; ``Refused`` (401, 400, 422) says why it is not taken."""
    if auth is None:
        raise Refused(404, "the Harbor hook is not enabled: serve was started without Harbor's webhook auth")
    given = headers.get("authorization")
    if not given:
        raise Refused(401, "the Authorization header is missing")
    if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), auth):
        raise Refused(401, "the Authorization header does not match the one harbor apply configured")
    event = parse_harbor(raw)
    if event.occurred < now - window:
        raise Refused(422, f"stale: the event is older than the replay window ({int(window)} s)")
    if event.occurred > now + skew:
        raise Refused(422, "the event's occur_at is in the future")
    return event


def parse_harbor(raw: bytes) -> HarborEvent:
    """Validate a Harbor event's body (already authenticated); ``Refused`` (400) names the first bad field."""
    body = json_object(raw)
    kind = body.get("type")
    if not isinstance(kind, str) or EVENT_TYPE.fullmatch(kind) is None:
        raise Refused(400, "type is missing or not a Harbor event type")
    occurred = body.get("occur_at")
    if not isinstance(occurred, int) or isinstance(occurred, bool):
        raise Refused(400, "occur_at is missing or not a Unix time")
    data = body.get("event_data")
    if not isinstance(data, dict):
        raise Refused(400, "event_data is missing")
    repository = data.get("repository")
    if not isinstance(repository, dict):
        raise Refused(400, "event_data.repository is missing")
    project, name = repository.get("namespace"), repository.get("name")
    if not _name(project) or not _name(name):
        raise Refused(400, "event_data.repository needs a namespace and a name")
    scan = data.get("scan")
    scan_type = scan.get("scan_type") if isinstance(scan, dict) else None
    if scan_type is not None and not isinstance(scan_type, str):
        raise Refused(400, "event_data.scan.scan_type is not a string")
    resources = data.get("resources") or []
    if not isinstance(resources, list):
        raise Refused(400, "event_data.resources is not a list")
    artifacts = tuple(_artifact(item, index) for index, item in enumerate(resources))
    return HarborEvent(
        id=hashlib.sha256(raw).hexdigest()[:40],
        type=kind,
        occurred=float(occurred),
        project=str(project),
        repository=str(name),
        artifacts=artifacts,
        scan_type=scan_type or None,
    )


def _name(value: Any) -> bool:
    return isinstance(value, str) and NAME.fullmatch(value) is not None and ".." not in value


def _artifact(item: Any, index: int) -> Artifact:
    if not isinstance(item, dict):
        raise Refused(400, f"event_data.resources[{index}] is not an object")
    digest, tag = item.get("digest"), item.get("tag")
    if not isinstance(digest, str) or DIGEST.fullmatch(digest) is None:
        raise Refused(400, f"event_data.resources[{index}].digest is not a sha256 digest")
    if tag in (None, "") or tag == digest:
        return Artifact(digest, None)
    if not isinstance(tag, str) or TAG.fullmatch(tag) is None:
        raise Refused(400, f"event_data.resources[{index}].tag is not a tag")
    return Artifact(digest, tag)
