"""Retries and waits: one policy for everything Shipyard tries again, and the bounds on every wait.

Who retries what (the policies below; their numbers are also in docs/design-notes.md, "Retries and
waits"):

============== ============================================= ======== ==== === ======== =========
policy         used by, for                                  attempts base cap max_wait max_total
============== ============================================= ======== ==== === ======== =========
``HTTP``       OCI registry, Harbor, npm registry and               6 0.1    5       60       120
               Kubernetes API: 429, 502, 503, 504 and
               connection errors
``GITHUB``     GitHub's REST API: the same, and its rate            5 1     30      900       900
               limits
``PUSH_RACE``  git pushes that lost a race (``change_branch``,     20 0.05   1        1        30
               ``preview gc``, promotion steps)
``TAG_RACE``   ``release tag``'s atomic tag push                   40 0.05   1        1        60
``LEASE_RACE`` the release and hotfix steps' leased pushes         10 0.1    2        2        30
============== ============================================= ======== ==== === ======== =========

(seconds; ``attempts`` counts the first try.)

- **Backoff** is exponential with full jitter: before retry *n* the wait is uniform in
  ``[0, min(cap, base * 2**(n-1))]``, so clients that failed together do not come back together.
- **A wait the other side asks for** (``Retry-After`` as seconds or as an HTTP date, GitHub's
  ``x-ratelimit-reset``) replaces the backoff when it is readable and at most ``max_wait``. A longer
  one is not waited at all: the call gives up at once and says how long it was asked to wait. An
  unreadable one (garbage, ``nan``, ``inf``, a negative or fractional number) is ignored and the
  backoff used.
- **The total** of the waits of one call never exceeds ``max_total``: a wait that would pass it ends
  the call instead. With backoff alone ``(attempts - 1) * cap`` stays under ``max_total``, so only
  waits asked for by a server can reach it.
- **Pages** (``shipyard.httpcalls.Pages``): a paged listing stops with an error after 1,000 pages or
  when a next-page link or ``continue`` token repeats.

Giving up raises ``GaveUp`` (a ShipyardError), which names the attempts and the last failure; callers
add what they were doing. ``sleep`` and ``clock`` are injectable, so tests never wait.
"""

from __future__ import annotations

import math
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from typing import TypeVar

from shipyard.errors import ShipyardError
from shipyard.times import format_duration

T = TypeVar("T")
_SECONDS = re.compile(r"[0-9]{1,15}")  # delta-seconds as RFC 9110 has them; more digits is no real wait


class TryAgain(Exception):
    """Raised by an attempt that failed in a passing way. ``after`` is the wait the other side asked for
    (None: back off); ``result`` is what the attempt got (a response), kept for the caller's message."""

    def __init__(self, reason: str, *, after: float | None = None, result: object = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.after = after
        self.result = result


class GaveUp(ShipyardError):
    """Retrying stopped: the attempts ran out, or a wait would have passed a bound. ``last`` is the last
    failure (a TryAgain or an exception the caller retries)."""

    def __init__(self, message: str, *, attempts: int, last: BaseException) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.last = last

    @property
    def result(self) -> object:
        """What the last attempt got when it asked to try again (a response), else None."""
        return self.last.result if isinstance(self.last, TryAgain) else None


@dataclass(frozen=True)
class Policy:
    """How often to try and how long to wait: see the module's table for the policies in use."""

    attempts: int
    base: float
    cap: float
    max_wait: float
    max_total: float

    def __post_init__(self) -> None:
        numbers = (self.base, self.cap, self.max_wait, self.max_total)
        if self.attempts < 1 or not all(math.isfinite(n) and n >= 0 for n in numbers):
            raise ValueError(f"{self}: attempts must be at least 1 and every time a finite number of seconds")
        if not self.cap <= self.max_wait <= self.max_total:
            raise ValueError(f"{self}: the bounds must hold cap <= max_wait <= max_total")

    def backoff(self, retry: int, uniform: Callable[[float, float], float] = random.uniform) -> float:
        """The wait before retry number ``retry`` (1-based): full jitter under the exponential ceiling."""
        return uniform(0.0, min(self.cap, self.base * 2.0 ** min(retry - 1, 64)))


HTTP = Policy(attempts=6, base=0.1, cap=5.0, max_wait=60.0, max_total=120.0)
# GitHub's rate limits reset within the hour and its secondary limits ask for a minute or more.
GITHUB = Policy(attempts=5, base=1.0, cap=30.0, max_wait=900.0, max_total=900.0)
PUSH_RACE = Policy(attempts=20, base=0.05, cap=1.0, max_wait=1.0, max_total=30.0)
# Twenty CI runs tagging at once each lose up to nineteen races: more attempts, same short waits.
TAG_RACE = Policy(attempts=40, base=0.05, cap=1.0, max_wait=1.0, max_total=60.0)
LEASE_RACE = Policy(attempts=10, base=0.1, cap=2.0, max_wait=2.0, max_total=30.0)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date, 0 for a past date), or None
    when it is absent or unreadable (then the policy's backoff applies). ``now`` is the Unix time."""
    if value is None:
        return None
    text = value.strip()
    if _SECONDS.fullmatch(text):
        return float(int(text))
    if not text or text[0].isdigit() or text[0] in "+-.":
        return None  # "1.5", "-3", "1e9": numbers RFC 9110 does not allow are not guessed at
    # Imported here: it pulls in socket and the email package, which git-only commands never need.
    from email.utils import parsedate_to_datetime

    try:
        moment = parsedate_to_datetime(text)
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # asctime dates carry no zone; HTTP dates are always GMT
        moment = moment.replace(tzinfo=UTC)
    return max(moment.timestamp() - now, 0.0)


@dataclass(frozen=True)
class Retrier:
    """Runs attempts under a Policy. ``sleep``, ``clock`` (Unix time) and ``uniform`` are the seams for tests."""

    policy: Policy
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    clock: Callable[[], float] = field(default=time.time, repr=False)
    uniform: Callable[[float, float], float] = field(default=random.uniform, repr=False)

    def call(self, attempt: Callable[[], T], *, on: tuple[type[BaseException], ...] = ()) -> T:
        """Call ``attempt`` until it returns, retrying when it raises TryAgain or one of ``on``.

        Raises GaveUp when the attempts run out or a wait would pass ``max_wait`` or ``max_total``;
        any other exception passes through at once.
        """
        policy = self.policy
        waited = 0.0
        for number in range(1, policy.attempts + 1):
            try:
                return attempt()
            except TryAgain as exc:
                last: BaseException = exc
                asked = exc.after
            except on as exc:
                last, asked = exc, None
            if number == policy.attempts:
                raise GaveUp(f"failed after {number} attempts ({_describe(last)})", attempts=number, last=last)
            if asked is not None and not (math.isfinite(asked) and asked >= 0):
                asked = None  # a hook's unreadable wait: back off instead, as for an unreadable header
            if asked is not None and asked > policy.max_wait:
                raise GaveUp(
                    f"gave up after {number} attempt{'s' if number > 1 else ''} ({_describe(last)}): asked to wait "
                    f"{format_duration(asked)}, longer than the {format_duration(policy.max_wait)} one wait may last",
                    attempts=number,
                    last=last,
                )
            wait = policy.backoff(number, self.uniform) if asked is None else asked
            if waited + wait > policy.max_total:
                raise GaveUp(
                    f"gave up after {number} attempts ({_describe(last)}): another wait of {format_duration(wait)} "
                    f"would pass the {format_duration(policy.max_total)} all waits may take",
                    attempts=number,
                    last=last,
                )
            self.sleep(wait)
            waited += wait
        raise AssertionError("unreachable: the last attempt returns or raises")


def _describe(failure: BaseException) -> str:
    if isinstance(failure, TryAgain):
        return failure.reason
    text = str(failure).strip().splitlines()
    return f"{type(failure).__name__}: {text[0]}" if text else type(failure).__name__
