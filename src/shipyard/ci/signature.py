"""GitHub's webhook signature: HMAC-SHA256 of the raw body with the shared secret, compared in constant time,
before a byte of the body is parsed."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from shipyard.errors import ShipyardError

MAX_PAYLOAD = 25 * 1024 * 1024  # GitHub never sends more; a larger body is not from GitHub
MAX_SECRET = 4096  # a shared secret is a few dozen bytes; a larger file is the wrong file


class SignatureError(ShipyardError):
    """The delivery cannot be trusted: no secret, a malformed header, or a signature that does not match."""

    exit_code = 2


def read_secret(path: Path, what: str = "the webhook secret") -> bytes:
    """A secret from a file (at most ``MAX_SECRET`` bytes are read); a trailing newline (as ``echo`` writes) is
    not part of it. Messages name the file, never its content."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_SECRET + 1)
    except OSError as exc:
        raise SignatureError(f"{path}: cannot read {what} ({exc.strerror})") from exc
    if len(raw) > MAX_SECRET:
        raise SignatureError(f"{path}: {what} is longer than {MAX_SECRET} bytes; is it the right file?")
    secret = raw.rstrip(b"\r\n")
    if not secret:
        raise SignatureError(f"{path}: {what} is empty")
    return secret


def sign(body: bytes, secret: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub would send for ``body``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(body: bytes, signature: str, secret: bytes) -> None:
    """Raise ``SignatureError`` unless ``signature`` is GitHub's HMAC-SHA256 of ``body`` under ``secret``."""
    if len(body) > MAX_PAYLOAD:
        raise SignatureError(f"the payload is {len(body)} bytes; GitHub sends at most {MAX_PAYLOAD}")
    scheme, _, digest = signature.strip().partition("=")
    if scheme != "sha256" or len(digest) != 64:
        raise SignatureError(
            "the signature must look like sha256=<64 hex digits> (the X-Hub-Signature-256 header)",
            hint="the older sha1 X-Hub-Signature header is not accepted",
        )
    # compare_digest takes the same time wherever the strings differ, so timing reveals nothing.
    if not hmac.compare_digest(sign(body, secret), "sha256=" + digest.lower()):
        raise SignatureError("the signature does not match the payload: refusing to parse it")
