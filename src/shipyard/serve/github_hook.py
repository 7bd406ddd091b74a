"""GitHub's webhook, read the way a hostile sender is expected: the signature (HMAC-SHA256 of the raw body,
compared in constant time) is checked before any byte of the body is parsed, then the headers and the body
are validated, and a delivery whose own timestamp is older than the replay window is refused as stale.

GitHub sends no timestamp header, and its guidance against replays is the ``X-GitHub-Delivery`` id (the
same id on a redelivery). So a replay is caught two ways: by the id, remembered for the retention (see
``queue``), and, for the events that carry one, by the event's time in the payload (``push``:
``repository.pushed_at``; ``pull_request``: ``pull_request.updated_at``), which a replay cannot change
without breaking the signature.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shipyard.ci.signature import SignatureError, verify
from shipyard.errors import ShipyardError
from shipyard.render.tekton.routes import EVENT_TYPES
from shipyard.serve.refusal import Refused, json_object
from shipyard.times import parse_rfc3339

DELIVERY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,99}")  # GitHub's are GUIDs
EVENT_NAME = re.compile(r"[a-z][a-z_]{0,63}")


@dataclass(frozen=True)
class GitHubEvent:
    """A verified delivery: its event type, delivery id, decoded body, serialisation key and event time."""

    event: str
    delivery: str
    body: dict[str, Any]
    key: str
    occurred: float | None

    @property
    def routed(self) -> bool:
        """True when some pipeline listens to this event type (else it is answered and not queued)."""
        return self.event in EVENT_TYPES


def read_github(
    headers: Mapping[str, str], raw: bytes, secret: bytes | None, *, now: float, window: float, skew: float
) -> GitHubEvent:
    """Verify and decode one delivery; ``Refused`` (401, 400, 415, 422) says why it is not taken.

    ``headers`` has lower-case names.
    """
    if secret is None:
        raise Refused(404, "the GitHub hook is not enabled: serve was started without a webhook secret")
    signature = headers.get("x-hub-signature-256")
    if not signature:
        raise Refused(401, "unsigned: the X-Hub-Signature-256 header is missing")
    try:
        verify(raw, signature, secret)
    except SignatureError as exc:
        raise Refused(401, exc.message) from None
    event = headers.get("x-github-event", "")
    if EVENT_NAME.fullmatch(event) is None:
        raise Refused(400, "the X-GitHub-Event header is missing or not an event name")
    delivery = headers.get("x-github-delivery", "")
    if DELIVERY_ID.fullmatch(delivery) is None:
        raise Refused(400, "the X-GitHub-Delivery header is missing or not a delivery id")
    if headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise Refused(415, "the webhook must send application/json (set the content type in GitHub's settings)")
    body = json_object(raw)
    occurred = event_time(event, body)
    if occurred is not None:
        if occurred < now - window:
            raise Refused(422, f"stale: the {event} event is older than the replay window ({int(window)} s)")
        if occurred > now + skew:
            raise Refused(422, f"the {event} event's time is in the future")
    return GitHubEvent(event, delivery, body, serial_key(event, body), occurred)


def event_time(event: str, body: dict[str, Any]) -> float | None:
    """When the event happened, from the payload, for the events that say; ``Refused`` when it is unreadable."""
    if event == "push":
        value = _path(body, "repository", "pushed_at")
    elif event == "pull_request":
        value = _path(body, "pull_request", "updated_at")
    else:
        return None
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return parse_rfc3339(value).timestamp()
        except (ShipyardError, ValueError):
            pass
    raise Refused(400, f"the {event} event's time is not a timestamp")


def serial_key(event: str, body: dict[str, Any]) -> str:
    """What must not run twice at once: a push's ref, a pull request's number, else the event type."""
    if event == "push":
        ref = body.get("ref")
        if not isinstance(ref, str) or not ref:
            raise Refused(400, "a push event without a ref")
        return f"ref:{ref}"
    if event == "pull_request":
        number = body.get("number")
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise Refused(400, "a pull_request event without a number")
        return f"pr:{number}"
    return f"event:{event}"


def _path(body: dict[str, Any], *keys: str) -> Any:
    value: Any = body
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value
