"""The policy file's value parsers: each raises ValueError with the message shown after the key."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo

import holidays as holidays_lib

from bot.time.calendar import parse_timezone
from bot.time.durations import parse_duration

_INTERVAL = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_URL = re.compile(r"https?://\S+")


def non_empty_text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty string")
    return value.strip()


def http_url(value: object) -> str:
    if not isinstance(value, str) or not _URL.fullmatch(value.strip()):
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value.strip()


def url_or_empty(value: object) -> str:
    return "" if value == "" else http_url(value)


def positive_int(value: object) -> int:
    if type(value) is not int or value < 1:
        raise ValueError("must be a positive integer")
    return value


def duration(value: object) -> timedelta:
    if not isinstance(value, str):
        raise ValueError(f'{shown(value)} is not a duration: write it as a string such as "4h" or "7d"')
    duration = parse_duration(value)
    if duration <= timedelta(0):
        raise ValueError(f"{value!r} must be longer than zero")
    return duration


def _clock(hours: str, minutes: str, *, is_end: bool) -> time | None:
    h, m = int(hours), int(minutes)
    if is_end and (h, m) == (24, 0):
        return time(0)  # the calendar reads an end of 00:00 as midnight at the end of the day
    return time(h, m) if h < 24 and m < 60 else None


def hours_interval(value: object) -> tuple[time, time]:
    match = _INTERVAL.fullmatch(value.strip()) if isinstance(value, str) else None
    start = end = None
    if match:
        start = _clock(match[1], match[2], is_end=False)
        end = _clock(match[3], match[4], is_end=True)
    if start is None or end is None:
        raise ValueError(f"{value!r} is not HH:MM-HH:MM")
    if end != time(0) and start >= end:
        raise ValueError(f"{value!r}: the start must be before the end")
    return start, end


def in_order(intervals: list[tuple[time, time]]) -> list[tuple[time, time]]:
    ends = [(start, time.max if end == time(0) else end) for start, end in intervals]
    if any(later[0] < earlier[1] for earlier, later in zip(ends, ends[1:], strict=False)):
        raise ValueError("intervals must be in order and must not overlap")
    return intervals


def shown(value: object) -> str:
    """A TOML value as the user wrote it (dates without Python's repr)."""
    return value.isoformat() if isinstance(value, date | time) else repr(value)


def holiday(value: object) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{shown(value)} is not a date (YYYY-MM-DD)")


def time_zone(value: object) -> tzinfo:
    if not isinstance(value, str):
        raise ValueError(f'{value!r} is not a timezone: write "+01:00" or "Europe/Paris"')
    return parse_timezone(value)


def country(value: object) -> str | None:
    if value is None:
        return None
    code = non_empty_text(value).upper()
    try:
        holidays_lib.country_holidays(code, years=[])
    except NotImplementedError:
        raise ValueError(f"{value!r} is not a country code known to the holidays package") from None
    return code
