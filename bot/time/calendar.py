"""The business calendar: weekly opening hours, holidays and a timezone drive every deadline.

All maths happens on UTC instants. Each local date is turned into its open intervals as
UTC instants, so daylight-saving days get their real length. A local wall-clock time T
maps to the first instant at which the wall clock reads T or later: a time skipped by a
spring-forward gap maps to the transition, a repeated fall-back time maps to its first
occurrence. That mapping never goes backwards, so intervals stay ordered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holidays_lib

from bot.time.calendar_text import describe_week, format_instant

Interval = tuple[datetime, datetime]  # [start, end) as UTC instants

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAY_SECONDS = 86_400
_MAX_CLOSED_DAYS = 400  # a year of holidays in a row means the calendar is broken
_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)


def parse_timezone(text: str) -> tzinfo:
    """Parse an offset ("+01:00", "-05:30", "UTC+1", "UTC", "Z") or an IANA name ("Europe/Paris")."""
    error = ValueError(
        f"{text!r} is not a timezone: use an offset like +01:00, UTC, or an IANA name like Europe/Paris"
    )
    cleaned = text.strip()
    if cleaned.upper() in ("UTC", "GMT", "Z"):
        return UTC
    match = _OFFSET.match(cleaned)
    if match:
        sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        if hours > 23 or minutes > 59:
            raise error
        offset = timedelta(hours=hours, minutes=minutes) * (-1 if sign == "-" else 1)
        return UTC if not offset else timezone(offset)
    try:
        return ZoneInfo(cleaned)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise error from None


def zone_label(tz: tzinfo) -> str:
    """The zone as shown to people: its IANA key, or "UTC+01:00" for a fixed offset."""
    if isinstance(tz, ZoneInfo):
        return tz.key
    return tz.tzname(None) or str(tz)


def _to_utc(t: datetime) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{t!r} is a naive datetime: the calendar needs timezone-aware datetimes")
    return t.astimezone(UTC)


def _seconds(t: time, *, is_end: bool = False) -> float:
    """Seconds since midnight; an end of 00:00 means midnight at the end of the day."""
    value = t.hour * 3600 + t.minute * 60 + t.second + t.microsecond / 1e6
    return _DAY_SECONDS if is_end and value == 0 else value


def _first_instant_at_or_after(wall: datetime, tz: tzinfo) -> datetime:
    """The first UTC instant at which the local wall clock reads `wall` or later."""
    early = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    late = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if early <= late:  # an ordinary time, or a repeated one whose first occurrence is fold=0
        return early
    # A skipped time: the transition lies in (late, early]; the wall clock reads < wall at
    # `late` and >= wall at `early` with no repeat in between, so bisect to the microsecond.
    low, high = late, early
    step = timedelta(microseconds=1)
    while high - low > step:
        middle = low + (high - low) // 2
        if middle.astimezone(tz).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return high


def _validate_hours(
    hours: Mapping[int, Sequence[tuple[time, time]]],
) -> dict[int, tuple[tuple[time, time], ...]]:
    week: dict[int, tuple[tuple[time, time], ...]] = {}
    for weekday, intervals in hours.items():
        if weekday not in range(7):
            raise ValueError(f"weekday {weekday!r} is not 0 (Monday) to 6 (Sunday)")
        previous_end = 0.0
        for start, end in intervals:
            if start.tzinfo is not None or end.tzinfo is not None:
                raise ValueError("opening hours are local wall-clock times: give naive times")
            start_s, end_s = _seconds(start), _seconds(end, is_end=True)
            if start_s >= end_s:
                raise ValueError(f"{DAY_NAMES[weekday]}: {start:%H:%M}-{end:%H:%M} ends before it starts")
            if start_s < previous_end:
                raise ValueError(f"{DAY_NAMES[weekday]}: intervals must be sorted and must not overlap")
            previous_end = end_s
        if intervals:
            week[weekday] = tuple((start, end) for start, end in intervals)
    if not week:
        raise ValueError("the calendar has no working hours")
    return week


class BusinessCalendar:
    def __init__(
        self,
        tz: tzinfo,
        hours: Mapping[int, Sequence[tuple[time, time]]],
        holidays: Iterable[date] = (),
        country: str | None = None,
    ) -> None:
        self._tz = tz
        self._hours = _validate_hours(hours)
        self._holidays = frozenset(holidays)
        self._country = country.upper() if country else None
        if self._country:
            try:  # fail at start-up on an unknown country, not at the first deadline
                holidays_lib.country_holidays(self._country, years=[])
            except NotImplementedError:
                raise ValueError(f"{country!r} is not a country known to the holidays package") from None
        # Per-instance caches (a method-level lru_cache would be shared and keep instances alive).
        self._country_year = lru_cache(maxsize=64)(self._load_country_year)
        self._day_intervals = lru_cache(maxsize=4096)(self._compute_day_intervals)

    @classmethod
    def default(cls) -> BusinessCalendar:
        """The vendor's published hours: Mon-Fri 09:00-12:00 and 14:00-18:00, GMT+1."""
        day = [(time(9), time(12)), (time(14), time(18))]
        return cls(timezone(timedelta(hours=1)), {weekday: day for weekday in range(5)})

    @property
    def tz(self) -> tzinfo:
        return self._tz

    # -- days ----------------------------------------------------------------------

    def _load_country_year(self, year: int) -> frozenset[date]:
        assert self._country is not None
        return frozenset(holidays_lib.country_holidays(self._country, years=year).keys())

    def is_holiday(self, day: date) -> bool:
        """Whether the local date `day` is closed all day as a holiday."""
        if day in self._holidays:
            return True
        return self._country is not None and day in self._country_year(day.year)

    def _compute_day_intervals(self, day: date) -> tuple[Interval, ...]:
        if self.is_holiday(day):
            return ()
        result = []
        for start, end in self._hours.get(day.weekday(), ()):
            end_day = day + timedelta(days=1) if _seconds(end, is_end=True) == _DAY_SECONDS else day
            start_utc = _first_instant_at_or_after(datetime.combine(day, start), self._tz)
            end_utc = _first_instant_at_or_after(datetime.combine(end_day, end), self._tz)
            if end_utc > start_utc:  # an interval entirely inside a DST gap vanishes
                result.append((start_utc, end_utc))
        return tuple(result)

    def _intervals_from(self, t: datetime) -> Iterator[Interval]:
        """Open intervals, in order, from the one containing `t` (UTC) or the next one."""
        # Start a day early: with a fall-back at midnight, yesterday's hours can end after t.
        day = self.local(t).date() - timedelta(days=1)
        closed_days = 0
        while True:
            intervals = self._day_intervals(day)
            closed_days = 0 if intervals else closed_days + 1
            if closed_days > _MAX_CLOSED_DAYS:
                raise ValueError(f"no working hours within {_MAX_CLOSED_DAYS} days after {t.isoformat()}")
            for start, end in intervals:
                if end > t:
                    yield start, end
            day += timedelta(days=1)

    # -- instants ------------------------------------------------------------------

    def local(self, t: datetime) -> datetime:
        return _to_utc(t).astimezone(self._tz)

    def is_open(self, t: datetime) -> bool:
        t = _to_utc(t)
        start, _end = next(self._intervals_from(t))
        return start <= t

    def next_opening(self, t: datetime) -> datetime:
        """`t` itself (in UTC) if open now, else the start of the next open interval."""
        t = _to_utc(t)
        start, _end = next(self._intervals_from(t))
        return max(start, t)

    def add_working_time(self, t: datetime, d: timedelta) -> datetime:
        """The instant at which `d` of open time has elapsed after `t`.

        Counting starts at next_opening(t). A positive `d` that runs out exactly at the
        end of an interval returns that end (e.g. 12:00), not the next opening.
        """
        if d < timedelta(0):
            raise ValueError(f"cannot add a negative working time ({d})")
        t = _to_utc(t)
        remaining = d
        for start, end in self._intervals_from(t):
            start = max(start, t)
            if remaining <= end - start:
                return start + remaining
            remaining -= end - start
        raise AssertionError("unreachable: _intervals_from never ends")

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Open time in [a, b); zero if b <= a."""
        a, b = _to_utc(a), _to_utc(b)
        total = timedelta(0)
        if b <= a:
            return total
        for start, end in self._intervals_from(a):
            if start >= b:
                break
            total += min(end, b) - max(start, a)
        return total

    # -- text ----------------------------------------------------------------------

    def format_local(self, t: datetime, lang: str = "en") -> str:
        """E.g. "Mon 7 Dec 2026 09:00 (UTC+01:00)", "lun. 7 déc. 2026 09:00 (Europe/Paris)"."""
        return format_instant(self.local(t), zone_label(self._tz), lang)

    def describe_hours(self, lang: str = "en") -> str:
        """E.g. "Monday to Friday, 09:00-12:00 and 14:00-18:00 (UTC+01:00)"."""
        # Weekdays sharing the same hours, as runs of consecutive days, in weekday order.
        runs_by_hours: dict[tuple[tuple[time, time], ...], list[list[int]]] = {}
        for weekday in range(7):
            intervals = self._hours.get(weekday)
            if not intervals:
                continue
            runs = runs_by_hours.setdefault(intervals, [])
            if runs and runs[-1][-1] == weekday - 1:
                runs[-1].append(weekday)
            else:
                runs.append([weekday])
        return describe_week(runs_by_hours, zone_label(self._tz), self._country, lang)


