"""Policy sections of the desk's memory: [report] (the weekly SLA report) and [[snippet]] (canned answers)."""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated, Any

from pydantic import PlainValidator

from bot.policy import WeeklyReport
from supportbot import policy_values as values

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
SNIPPET_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


def weekday(value: object) -> int:
    if not isinstance(value, str) or value.strip().lower()[:3] not in WEEKDAYS:
        raise ValueError(f"{values.shown(value)} is not a weekday: use one of {', '.join(WEEKDAYS)}")
    return WEEKDAYS.index(value.strip().lower()[:3])


def clock_time(value: object) -> time:
    match = _CLOCK.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{values.shown(value)} is not a time of day: write HH:MM, e.g. 09:00")
    return time(int(match[1]), int(match[2]))


def snippet_name(value: object) -> str:
    if not isinstance(value, str) or not SNIPPET_NAME.fullmatch(value.strip()):
        raise ValueError(f"{values.shown(value)} is not a snippet name: lowercase letters, digits, - and _, "
                         "at most 32")
    return value.strip()


Weekday = Annotated[int, PlainValidator(weekday)]
ClockTime = Annotated[time, PlainValidator(clock_time)]
SnippetName = Annotated[str, PlainValidator(snippet_name)]


# -- building the Policy's values from the validated sections (supportbot/policy_file.py) -----------


def rating_window(section: Any) -> timedelta | None:
    """[satisfaction]: absent means the default window; enabled = false means no rating asked."""
    if section is None:
        return timedelta(days=7)
    return section.window if section.enabled else None


def snippets(items: list[Any], problems: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for index, item in enumerate(items):
        if item.name in found:
            problems.append(f"snippet[{index}].name: {item.name!r} is already used by another snippet")
        found[item.name] = item.text
    return found


def weekly(section: Any) -> WeeklyReport | None:
    return WeeklyReport(section.channel, section.weekday, section.time) if section else None
