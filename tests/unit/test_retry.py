"""The one retry helper and its bounds, with an injected sleep and clock: nothing here really waits.

``send`` is driven through httpx's MockTransport: these tests are about which answers are retried and
how long the waits are, which a transport seam shows exactly. The clients' tests run the same helper
against real loopback servers.
"""

from __future__ import annotations

import contextlib
import math
import ssl
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipyard.errors import ShipyardError
from shipyard.httpcalls import Pages, PagingError, send
from shipyard.retry import (
    GITHUB,
    HTTP,
    LEASE_RACE,
    PUSH_RACE,
    TAG_RACE,
    GaveUp,
    Policy,
    Retrier,
    TryAgain,
    parse_retry_after,
)

NOW = 1_700_000_000.0
POLICY = Policy(attempts=4, base=1.0, cap=4.0, max_wait=10.0, max_total=20.0)


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def retrier(policy: Policy = POLICY, sleeps: Sleeps | None = None) -> Retrier:
    # The jitter's upper end, so the waits are the ceilings and the tests can name them.
    return Retrier(policy, sleep=sleeps if sleeps is not None else Sleeps(), clock=lambda: NOW, uniform=lambda a, b: b)


class Flaky:
    """Fails ``failures`` times with ``failure()``, then answers "done"."""

    def __init__(self, failures: int, failure: BaseException | None = None) -> None:
        self.failures = failures
        self.failure = failure
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.failure or TryAgain("flaky")
        return "done"


# -- Retry-After -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("100000", 100000.0),  # read as asked; the policy decides it is too long
        (format_datetime(datetime.fromtimestamp(NOW + 30, UTC), usegmt=True), 30.0),
        (format_datetime(datetime.fromtimestamp(NOW - 3600, UTC), usegmt=True), 0.0),  # a date gone by: now
        ("Sunday, 06-Nov-94 08:49:37 GMT", 0.0),  # RFC 850 dates, which HTTP still allows
        ("Sun Nov  6 08:49:37 1994", 0.0),  # asctime
    ],
)
def test_retry_after_reads_seconds_and_http_dates(value: str, seconds: float) -> None:
    assert parse_retry_after(value, NOW) == seconds


@pytest.mark.parametrize(
    "value", [None, "", "nan", "NaN", "inf", "-inf", "-1", "1.5", "1e3", "+5", "soon", "9" * 16, "Sun, 06 Nov 99999"]
)
def test_unreadable_retry_after_is_none_so_the_backoff_applies(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None


@given(st.text(max_size=40))
def test_retry_after_never_crashes_and_is_never_negative_or_infinite(value: str) -> None:
    seconds = parse_retry_after(value, NOW)
    assert seconds is None or (math.isfinite(seconds) and seconds >= 0)


# -- the policy and its bounds ------------------------------------------------------------------------


def test_backoff_is_full_jitter_under_an_exponential_ceiling() -> None:
    ceilings = [POLICY.backoff(n, lambda a, b: b) for n in range(1, 6)]
    assert ceilings == [1.0, 2.0, 4.0, 4.0, 4.0]
    assert all(POLICY.backoff(n, lambda a, b: a) == 0.0 for n in range(1, 6))
    assert POLICY.backoff(10_000, lambda a, b: b) == 4.0  # no float overflow on a very late retry


@given(st.integers(min_value=1, max_value=200))
def test_backoff_stays_within_the_cap(retry: int) -> None:
    assert 0.0 <= HTTP.backoff(retry) <= HTTP.cap


@pytest.mark.parametrize("policy", [HTTP, GITHUB, PUSH_RACE, TAG_RACE, LEASE_RACE])
def test_backoff_alone_never_reaches_the_total_bound(policy: Policy) -> None:
    assert (policy.attempts - 1) * policy.cap <= policy.max_total


@pytest.mark.parametrize(
    "arguments",
    [
        {"attempts": 0, "base": 1, "cap": 1, "max_wait": 1, "max_total": 1},
        {"attempts": 3, "base": -1, "cap": 1, "max_wait": 1, "max_total": 1},
        {"attempts": 3, "base": 1, "cap": math.inf, "max_wait": math.inf, "max_total": math.inf},
        {"attempts": 3, "base": 1, "cap": math.nan, "max_wait": 1, "max_total": 1},
        {"attempts": 3, "base": 1, "cap": 5, "max_wait": 1, "max_total": 10},
        {"attempts": 3, "base": 1, "cap": 1, "max_wait": 10, "max_total": 5},
    ],
)
def test_a_policy_without_bounds_is_refused(arguments: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Policy(**arguments)  # type: ignore[arg-type]


def test_retries_until_it_works_with_growing_waits() -> None:
    sleeps = Sleeps()
    attempt = Flaky(3)
    assert retrier(sleeps=sleeps).call(attempt) == "done"
    assert attempt.calls == 4 and sleeps == [1.0, 2.0, 4.0]


def test_gives_up_after_the_attempts_naming_the_last_failure() -> None:
    sleeps = Sleeps()
    attempt = Flaky(10, TryAgain("HTTP 503"))
    with pytest.raises(GaveUp, match=r"failed after 4 attempts \(HTTP 503\)") as caught:
        retrier(sleeps=sleeps).call(attempt)
    assert attempt.calls == 4 and len(sleeps) == 3
    assert caught.value.attempts == 4 and isinstance(caught.value, ShipyardError)


def test_only_the_named_exceptions_are_retried() -> None:
    attempt = Flaky(2, ConnectionResetError("reset by peer"))
    assert retrier().call(attempt, on=(ConnectionError,)) == "done"
    with pytest.raises(KeyError):
        retrier().call(Flaky(1, KeyError("a bug")), on=(ConnectionError,))
    with pytest.raises(GaveUp, match="ConnectionResetError: reset by peer"):
        retrier().call(Flaky(9, ConnectionResetError("reset by peer")), on=(ConnectionError,))


def test_a_wait_asked_for_replaces_the_backoff() -> None:
    sleeps = Sleeps()
    attempt = Flaky(2, TryAgain("HTTP 429", after=7.0))
    assert retrier(sleeps=sleeps).call(attempt) == "done"
    assert sleeps == [7.0, 7.0]


@pytest.mark.parametrize("asked", [100000.0, 10.5])
def test_a_wait_longer_than_one_wait_may_last_gives_up_at_once(asked: float) -> None:
    sleeps = Sleeps()
    attempt = Flaky(5, TryAgain("HTTP 429", after=asked))
    with pytest.raises(GaveUp, match=r"asked to wait .*longer than the 10s one wait may last"):
        retrier(sleeps=sleeps).call(attempt)
    assert attempt.calls == 1 and sleeps == []


def test_the_total_of_the_waits_is_bounded() -> None:
    sleeps = Sleeps()
    attempt = Flaky(5, TryAgain("HTTP 503", after=8.0))
    with pytest.raises(GaveUp, match="would pass the 20s all waits may take"):
        retrier(sleeps=sleeps).call(attempt)
    assert sleeps == [8.0, 8.0] and sum(sleeps) <= POLICY.max_total


@pytest.mark.parametrize("asked", [math.nan, math.inf, -5.0])
def test_an_unreadable_asked_wait_falls_back_to_the_backoff(asked: float) -> None:
    sleeps = Sleeps()
    assert retrier(sleeps=sleeps).call(Flaky(2, TryAgain("limited", after=asked))) == "done"
    assert sleeps == [1.0, 2.0]


@given(st.lists(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)), min_size=1, max_size=10))
def test_no_wait_and_no_total_ever_passes_the_bounds(asked: list[float | None]) -> None:
    sleeps = Sleeps()
    answers = iter(asked)

    def attempt() -> str:
        wait = next(answers, "stop")
        if wait == "stop":
            return "done"
        raise TryAgain("again", after=wait)  # type: ignore[arg-type]

    with contextlib.suppress(GaveUp):
        retrier(sleeps=sleeps).call(attempt)
    assert all(0 <= s <= POLICY.max_wait for s in sleeps) and sum(sleeps) <= POLICY.max_total
    assert len(sleeps) <= POLICY.attempts - 1


# -- HTTP: what is worth another try ----------------------------------------------------------------------


def _sender(
    statuses: list[int | type[Exception]], headers: dict[str, str] | None = None
) -> tuple[httpx.Client, list[str]]:
    seen: list[str] = []
    answers = iter(statuses)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        answer = next(answers, 200)
        if isinstance(answer, type):
            raise answer("boom", request=request)  # type: ignore[call-arg]
        return httpx.Response(answer, headers=headers or {})

    return httpx.Client(transport=httpx.MockTransport(handle)), seen


@pytest.mark.parametrize(
    ("method", "statuses", "final", "calls"),
    [
        ("GET", [429, 502, 503, 504], 200, 5),
        ("GET", [500], 500, 1),  # a server's bug, not a passing state
        ("PUT", [httpx.ReadError, 503], 200, 3),
        ("DELETE", [httpx.RemoteProtocolError], 200, 2),
        ("POST", [429, 503], 200, 3),  # answers that say nothing was done: safe to send again
        ("POST", [502], 502, 1),  # the request may have been acted on: never sent twice
        ("POST", [504], 504, 1),
        ("POST", [httpx.ConnectError], 200, 2),  # never left: safe
        ("PATCH", [429], 200, 2),
    ],
)
def test_send_retries_only_what_a_second_try_cannot_harm(
    method: str, statuses: list[int | type[Exception]], final: int, calls: int
) -> None:
    client, seen = _sender(statuses)
    response = send(retrier(Policy(6, 0, 0, 1, 1)), method, lambda: client.request(method, "http://api.test/x"))
    assert response.status_code == final and len(seen) == calls


def test_a_post_cut_off_after_it_was_sent_is_not_sent_again() -> None:
    client, seen = _sender([httpx.ReadError])
    with pytest.raises(httpx.ReadError):
        send(retrier(), "POST", lambda: client.post("http://api.test/x"))
    assert len(seen) == 1
    client, seen = _sender([httpx.ReadError])
    assert send(retrier(), "POST", lambda: client.post("http://api.test/x"), idempotent=True).status_code == 200


def test_a_certificate_that_fails_verification_is_not_tried_again() -> None:
    calls: list[int] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        failure = ssl.SSLCertVerificationError(1, "certificate verify failed")
        failure.verify_message = "unable to get local issuer certificate"
        raise httpx.ConnectError("TLS failed", request=request) from failure

    client = httpx.Client(transport=httpx.MockTransport(handle))
    with pytest.raises(GaveUp, match="certificate cannot be verified \\(unable to get local issuer certificate\\)"):
        send(retrier(), "GET", lambda: client.get("https://api.test/x"))
    assert calls == [1]


def test_send_honours_retry_after_and_refuses_an_hours_long_one() -> None:
    sleeps = Sleeps()
    client, _ = _sender([429], {"Retry-After": "7"})
    assert send(retrier(sleeps=sleeps), "GET", lambda: client.get("http://api.test/x")).status_code == 200
    assert sleeps == [7.0]
    sleeps.clear()
    client, seen = _sender([429, 429], {"Retry-After": "100000"})
    with pytest.raises(GaveUp, match=r"asked to wait 1d3h46m40s") as caught:
        send(retrier(sleeps=sleeps), "GET", lambda: client.get("http://api.test/x"))
    assert sleeps == [] and len(seen) == 1
    assert isinstance(caught.value.result, httpx.Response) and caught.value.result.status_code == 429


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "soon"])
def test_send_backs_off_on_an_unreadable_retry_after(value: str) -> None:
    sleeps = Sleeps()
    client, _ = _sender([503], {"Retry-After": value})
    assert send(retrier(sleeps=sleeps), "GET", lambda: client.get("http://api.test/x")).status_code == 200
    assert sleeps == [1.0]


def test_an_api_rate_limit_hook_decides_its_own_waits() -> None:
    sleeps = Sleeps()
    client, seen = _sender([403, 403])

    def limited(response: httpx.Response) -> float | None:
        return 3.0 if response.status_code == 403 else None

    reply = send(retrier(sleeps=sleeps), "POST", lambda: client.post("http://api.test/x"), rate_limited=limited)
    assert reply.status_code == 200 and sleeps == [3.0, 3.0] and len(seen) == 3


# -- pages -----------------------------------------------------------------------------------------------


def test_pages_stop_on_a_repeated_token() -> None:
    pages = Pages("listing namespaces")
    pages.follow("a")
    pages.follow("b")
    with pytest.raises(PagingError, match="listing namespaces: the server sent the same next page twice"):
        pages.follow("a")


def test_pages_stop_after_the_limit() -> None:
    pages = Pages("listing tags", limit=3)
    pages.follow("2")
    pages.follow("3")
    with pytest.raises(PagingError, match="more than 3 pages"):
        pages.follow("4")


def test_next_links_stay_on_the_origin() -> None:
    pages = Pages("listing comments")
    current = "https://api.github.com/repos/a/b/issues/1/comments?page=1"
    header = '<https://api.github.com/repos/a/b/issues/1/comments?page=2>; rel="next", <x>; rel="last"'
    assert pages.next_url(header, current) == "https://api.github.com/repos/a/b/issues/1/comments?page=2"
    assert pages.next_url(None, current) is None
    with pytest.raises(PagingError, match="another origin"):
        pages.next_url('<https://evil.example/steal>; rel="next"', current)
    with pytest.raises(PagingError, match="same next page"):
        pages.next_url(header, current)
