"""A webhook or API request answered with a 4xx: the status and one line saying why (never a secret)."""

from __future__ import annotations

from shipyard.errors import ShipyardError


class Refused(ShipyardError):
    """The request is not taken: ``status`` is the HTTP answer, the message its reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
