"""A webhook or API request answered with a 4xx: the status and one line saying why (never a secret)."""

from __future__ import annotations

from typing import Any

from shipyard.bounded import MAX_DEPTH, InputError, TooComplex, parse_json
from shipyard.errors import ShipyardError


class Refused(ShipyardError):
    """The request is not taken: ``status`` is the HTTP answer, the message its reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def json_object(raw: bytes) -> dict[str, Any]:
    """A webhook body as a JSON object, its size already bounded as it was received; else ``Refused`` (400)."""
    try:
        body = parse_json(raw, "the body", limit=len(raw))
    except TooComplex:
        raise Refused(400, f"the body nests deeper than {MAX_DEPTH} levels") from None
    except InputError:
        raise Refused(400, "the body is not JSON") from None
    if not isinstance(body, dict):
        raise Refused(400, "the body is not a JSON object")
    return body
