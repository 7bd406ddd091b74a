"""The one time module: strict RFC 3339 timestamps and the spec's durations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipyard.errors import ShipyardError
from shipyard.sandbox.state import SandboxState
from shipyard.times import add, format_duration, format_rfc3339, parse_duration, parse_rfc3339

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
moments = st.datetimes(timezones=st.just(UTC)).map(lambda d: d.replace(microsecond=0))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-11-14T15:30:45Z", datetime(2024, 11, 14, 15, 30, 45, tzinfo=UTC)),
        ("2024-11-14t15:30:45z", datetime(2024, 11, 14, 15, 30, 45, tzinfo=UTC)),
        ("2024-11-14T17:30:45+02:00", datetime(2024, 11, 14, 15, 30, 45, tzinfo=UTC)),
        ("2024-11-14T10:00:45-05:30", datetime(2024, 11, 14, 15, 30, 45, tzinfo=UTC)),
        ("2024-11-14T15:30:45.123456789Z", datetime(2024, 11, 14, 15, 30, 45, 123456, tzinfo=UTC)),
        ("2024-02-29T00:00:00Z", datetime(2024, 2, 29, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", datetime(1, 1, 1, tzinfo=UTC)),
        ("9999-12-31T23:59:59Z", datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
    ],
)
def test_rfc3339_accepts_what_the_rfc_allows(text: str, expected: datetime) -> None:
    parsed = parse_rfc3339(text)
    assert parsed == expected and parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        "2024-11-14",  # a date alone: which time of day?
        "2024-11-14T15:30:45",  # no offset: which zone?
        "2024-11-14 15:30:45Z",
        "20241114T153045Z",  # ISO basic format, which fromisoformat accepts
        "2024-11-14T15:30Z",
        "2023-02-29T00:00:00Z",
        "2024-13-01T00:00:00Z",
        "2024-11-14T24:00:00Z",
        "2016-12-31T23:59:60Z",  # leap second: not representable, so not guessed
        "2024-11-14T15:30:45+24:00",
        "1731598245",
        "",
        " 2024-11-14T15:30:45Z",
        "2024-11-14T15:30:45Z\n",
        "2024-11-14T15:30:45Z trailing",
        "٢٠٢٤-11-14T15:30:45Z",  # digits of another script
        # Valid RFC 3339, but before the year 1 or after 9999 once in UTC: refused, never an OverflowError.
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
    ],
)
def test_rfc3339_refuses_anything_ambiguous_or_out_of_range(text: str) -> None:
    with pytest.raises(ValueError, match=r"RFC 3339|valid|offset|years 0001 to 9999"):
        parse_rfc3339(text)


@given(moments)
def test_rfc3339_format_then_parse_round_trips(moment: datetime) -> None:
    text = format_rfc3339(moment)
    assert text.endswith("Z") and len(text) == 20
    assert parse_rfc3339(text) == moment


@given(moments, st.sampled_from(["\n", "\r\n", " ", "Z", "x", "\x00"]))
def test_rfc3339_refuses_any_trailing_character(moment: datetime, tail: str) -> None:
    with pytest.raises(ValueError):
        parse_rfc3339(format_rfc3339(moment) + tail)


@given(
    st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9998, 12, 30)),
    st.integers(min_value=-23 * 60, max_value=23 * 60),
)
def test_rfc3339_offsets_are_applied(local: datetime, minutes: int) -> None:
    zone = timezone(timedelta(minutes=minutes))
    text = local.replace(tzinfo=zone).isoformat()
    assert parse_rfc3339(text) == local.replace(tzinfo=zone)


def test_format_requires_a_zone_and_writes_utc() -> None:
    with pytest.raises(ValueError):
        format_rfc3339(datetime(2024, 1, 1))
    assert format_rfc3339(datetime(2024, 1, 1, 2, tzinfo=timezone(timedelta(hours=2)))) == "2024-01-01T00:00:00Z"
    assert format_rfc3339(datetime(999, 1, 1, tzinfo=UTC)) == "0999-01-01T00:00:00Z"


@given(st.lists(st.tuples(st.integers(1, 10_000), st.sampled_from("smhdw")), min_size=1, max_size=4))
def test_duration_sums_its_parts(parts: list[tuple[int, str]]) -> None:
    text = "".join(f"{n}{unit}" for n, unit in parts)
    assert parse_duration(text) == timedelta(seconds=sum(n * UNITS[u] for n, u in parts))


@given(st.integers(min_value=1, max_value=10**12))
def test_durations_round_trip(seconds: int) -> None:
    delta = timedelta(seconds=seconds)
    text = format_duration(delta)
    assert parse_duration(text) == delta
    assert format_duration(parse_duration(text)) == text  # the formatted form is the canonical one


@pytest.mark.parametrize(
    "text", ["", "7", "d", "7 d", "-1d", "0d", "1.5h", "7days", "7d\n", "7d ", "٧d", "1" * 13 + "s", "99999999999w"]
)
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_format_duration_reads_like_the_spec() -> None:
    assert format_duration(timedelta(seconds=90)) == "1m30s"
    assert format_duration(100000) == "1d3h46m40s"
    assert format_duration(0.4) == "0s"
    assert format_duration(timedelta(weeks=2, hours=1)) == "2w1h"


def test_adding_past_the_year_9999_is_a_value_error() -> None:
    end = parse_rfc3339("9999-12-31T00:00:00Z")
    assert add(end, timedelta(hours=1)) == datetime(9999, 12, 31, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="past the year 9999"):
        add(end, timedelta(days=1))


def test_a_sandbox_state_whose_ttl_runs_past_9999_is_malformed_not_a_crash() -> None:
    state = SandboxState("sandbox", datetime(2024, 11, 14, tzinfo=UTC), "24h", "a" * 40)
    far = state.to_yaml().replace("2024-11-14T00:00:00Z", "9999-12-31T12:00:00Z")
    with pytest.raises(ShipyardError, match=r"malformed.*9999"):
        SandboxState.from_yaml(far)
    bad = state.to_yaml().replace("2024-11-14T00:00:00Z", "0001-01-01T00:00:00+01:00")
    with pytest.raises(ShipyardError, match=r"created-at.*0001"):
        SandboxState.from_yaml(bad)
