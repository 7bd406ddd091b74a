"""GitHub's webhook signature: HMAC-SHA256 of the raw body with the shared secret, compared in constant time,
before a byte of the body is parsed."""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path

from shipyard.errors import ShipyardError

MAX_PAYLOAD = 25 * 1024 * 1024  # GitHub never sends more; a larger body is not from GitHub
_SIGNATURE = re.compile(r"sha256=[0-9a-fA-F]{64}", re.ASCII)


class SignatureError(ShipyardError):
    """The delivery cannot be trusted: no secret, a malformed header, or a signature that does not match."""

    exit_code = 2


def read_secret(path: Path, what: str = "the webhook secret") -> bytes:
    """A shared secret from a file, read by ``shipyard.secretfile`` (size-limited, stripped, one line of
    printable ASCII); messages name the file, never its content."""
    from shipyard.secretfile import SecretError
    from shipyard.secretfile import read_secret as read_secret_file

    try:
        return read_secret_file(path, what).encode("ascii")
    except SecretError as exc:
        raise SignatureError(exc.message, hint=exc.hint) from None


def sign(body: bytes, secret: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub would send for ``body``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(body: bytes, signature: str, secret: bytes) -> None:
    """Raise ``SignatureError`` unless ``signature`` is GitHub's HMAC-SHA256 of ``body`` under ``secret``."""
    if len(body) > MAX_PAYLOAD:
        raise SignatureError(f"the payload is {len(body)} bytes; GitHub sends at most {MAX_PAYLOAD}")
    if not _SIGNATURE.fullmatch(signature.strip()):
        raise SignatureError(
            "the signature must look like sha256=<64 hex digits> (the X-Hub-Signature-256 header)",
            hint="the older sha1 X-Hub-Signature header is not accepted",
        )
    # compare_digest takes the same time wherever the strings differ, so timing reveals nothing.
    if not hmac.compare_digest(sign(body, secret), signature.strip().lower()):
        raise SignatureError("the signature does not match the payload: refusing to parse it")
