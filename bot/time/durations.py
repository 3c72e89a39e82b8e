"""Compact durations as staff type them ("4h", "2d 4h 30m") and as the bot shows them."""

from __future__ import annotations

import re
from datetime import timedelta

# Each unit at most once, in the order w, d, h, m, s; whitespace allowed only between parts.
_DURATION = re.compile(
    r"""^\s*
    (?:(?P<w>\d+)w\s*)?
    (?:(?P<d>\d+)d\s*)?
    (?:(?P<h>\d+)h\s*)?
    (?:(?P<m>\d+)m\s*)?
    (?:(?P<s>\d+)s\s*)?
    $""",
    re.IGNORECASE | re.VERBOSE,
)
_UNIT_KEYWORDS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
_MINUTE_US = 60_000_000


def parse_duration(text: str) -> timedelta:
    """Parse "4h", "30m", "1h30m", "2d 4h", "1w" ...; ValueError on anything else."""
    error = ValueError(f"{text!r} is not a duration: use e.g. 4h, 30m, 2d4h30m")
    match = _DURATION.match(text)
    # The regex alone also matches "" and "   ": at least one part must be present.
    if match is None or not any(match.groupdict().values()):
        raise error
    parts = {_UNIT_KEYWORDS[unit]: int(value) for unit, value in match.groupdict().items() if value}
    try:
        return timedelta(**parts)
    except OverflowError:
        raise error from None


def format_duration(td: timedelta) -> str:
    """Human text rounded to the minute: "4h", "2d 4h 30m", "45m", "0m", "-1h 5m"."""
    total_us = td // timedelta(microseconds=1)
    sign = "-" if total_us < 0 else ""
    minutes = (abs(total_us) + _MINUTE_US // 2) // _MINUTE_US  # round half up, on the magnitude
    if minutes == 0:
        return "0m"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{value}{unit}" for value, unit in ((days, "d"), (hours, "h"), (mins, "m")) if value]
    return sign + " ".join(parts)
