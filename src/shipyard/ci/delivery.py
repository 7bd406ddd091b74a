"""A GitHub webhook delivery read from a file: size-checked, HMAC-checked before a byte is parsed (when a
signature is given), decoded within bounds, and its event type known (given, or inferred from the body's
shape). ``ci plan`` and ``ci run`` both read their delivery here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.bounded import parse_json, read_bytes
from shipyard.ci.signature import MAX_PAYLOAD, SignatureError, read_secret, verify
from shipyard.errors import ShipyardError
from shipyard.render.tekton.routes import infer_event_type


@dataclass(frozen=True)
class Delivery:
    """One delivery: its event type, body, the headers GitHub would have sent, and whether it was verified."""

    event: str
    body: Any
    headers: dict[str, str]
    signature_checked: bool


def read_delivery(
    event_file: Path, event_type: str | None, signature: str | None, secret_file: Path | None
) -> Delivery:
    """Read, verify and decode ``event_file``; a bad signature or body is a ``ShipyardError`` (exit 2)."""
    if (signature is None) != (secret_file is None):
        raise SignatureError("--signature and --secret-file go together: one checks the other")
    what = f"the event {event_file}"
    raw = read_bytes(event_file, MAX_PAYLOAD, what)  # GitHub sends at most MAX_PAYLOAD bytes
    if signature is not None and secret_file is not None:
        verify(raw, signature, read_secret(secret_file))  # before parsing: untrusted bytes are never decoded
    body = parse_json(raw, what, limit=MAX_PAYLOAD)
    kind = event_type or infer_event_type(body)
    if kind is None:
        raise ShipyardError(
            f"{event_file}: cannot tell which event this is", hint="pass the X-GitHub-Event header as --event-type"
        )
    headers = {"Content-Type": "application/json", "X-Github-Event": kind}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature.strip()
    return Delivery(kind, body, headers, signature is not None)
