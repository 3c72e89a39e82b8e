from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.time.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4h", timedelta(hours=4)),
        ("30m", timedelta(minutes=30)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2d4h30m", timedelta(days=2, hours=4, minutes=30)),
        ("28d", timedelta(days=28)),
        ("90s", timedelta(seconds=90)),
        ("1w", timedelta(weeks=1)),
        ("1w2d3h4m5s", timedelta(weeks=1, days=2, hours=3, minutes=4, seconds=5)),
        ("2d 4h", timedelta(days=2, hours=4)),
        ("  2D 4H  30M ", timedelta(days=2, hours=4, minutes=30)),
        ("0m", timedelta(0)),
    ],
)
def test_parse_duration_accepts_compact_forms(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "   ", "4x", "h", "4", "4h4h", "30m4h", "-4h", "4.5h", "4 h", "h4", "4hours", "1d-2h", "4h!", "m30"],
)
def test_parse_duration_rejects_anything_else(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration: use e.g. 4h, 30m, 2d4h30m"):
        parse_duration(text)


def test_parse_duration_error_quotes_the_input() -> None:
    with pytest.raises(ValueError) as info:
        parse_duration("4x")
    assert str(info.value) == "'4x' is not a duration: use e.g. 4h, 30m, 2d4h30m"


def test_parse_duration_rejects_overflowing_numbers() -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration("99999999999999w")


@pytest.mark.parametrize(
    ("td", "expected"),
    [
        (timedelta(hours=4), "4h"),
        (timedelta(days=2, hours=4, minutes=30), "2d 4h 30m"),
        (timedelta(minutes=45), "45m"),
        (timedelta(0), "0m"),
        (timedelta(hours=-1, minutes=-5), "-1h 5m"),
        (timedelta(days=3), "3d"),
        (timedelta(days=1, minutes=1), "1d 1m"),
        (timedelta(seconds=29), "0m"),
        (timedelta(seconds=30), "1m"),
        (timedelta(minutes=59, seconds=31), "1h"),
        (timedelta(seconds=-29), "0m"),
        (timedelta(seconds=-90), "-2m"),
    ],
)
def test_format_duration(td: timedelta, expected: str) -> None:
    assert format_duration(td) == expected


@settings(max_examples=200)
@given(st.integers(min_value=0, max_value=60 * 24 * 400))
def test_format_then_parse_round_trips_whole_minutes(minutes: int) -> None:
    td = timedelta(minutes=minutes)
    assert parse_duration(format_duration(td)) == td
