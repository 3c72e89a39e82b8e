from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pytest

from bot.time.calendar import BusinessCalendar, parse_timezone

PARIS = ZoneInfo("Europe/Paris")
CET = timezone(timedelta(hours=1))
SPLIT_DAY = [(time(9), time(12)), (time(14), time(18))]
WEEKDAYS = {weekday: SPLIT_DAY for weekday in range(5)}

DEFAULT = BusinessCalendar.default()
# Weekdays plus Sunday night windows that straddle the DST transitions (02:00-03:00 wall
# clock is skipped in March and repeated in October), touching intervals and a 24:00 end.
PARIS_FR = BusinessCalendar(
    PARIS,
    {**WEEKDAYS, 6: [(time(1), time(2, 30)), (time(2, 45), time(4)), (time(22), time(0))]},
    holidays=[date(2026, 12, 24), date(2026, 12, 31), date(2027, 3, 1)],
    country="FR",
)
CALENDARS = pytest.mark.parametrize("cal", [DEFAULT, PARIS_FR], ids=["default", "paris-fr"])


def at(
    tz: tzinfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=tz)


# -- concrete cases: the default calendar ----------------------------------------------


def test_friday_afternoon_plus_four_hours_lands_monday_noon() -> None:
    result = DEFAULT.add_working_time(at(CET, 2026, 12, 4, 17), timedelta(hours=4))
    assert result == at(CET, 2026, 12, 7, 12)
    assert result.tzinfo is UTC


def test_four_hours_from_friday_1130_crosses_lunch() -> None:
    result = DEFAULT.add_working_time(at(CET, 2026, 12, 4, 11, 30), timedelta(hours=4))
    assert result == at(CET, 2026, 12, 4, 17, 30)


def test_a_monday_holiday_pushes_the_deadline_to_tuesday() -> None:
    cal = BusinessCalendar(CET, WEEKDAYS, holidays=[date(2026, 12, 7)])
    assert cal.add_working_time(at(CET, 2026, 12, 4, 17), timedelta(hours=4)) == at(CET, 2026, 12, 8, 12)
    assert not cal.is_open(at(CET, 2026, 12, 7, 10))


def test_saturday_next_opening_is_monday_morning_in_utc() -> None:
    opening = DEFAULT.next_opening(at(CET, 2026, 12, 5, 10))
    assert opening == at(UTC, 2026, 12, 7, 8)
    assert opening.tzinfo is UTC


def test_next_opening_of_an_open_instant_is_itself() -> None:
    t = at(CET, 2026, 12, 7, 10, 15)
    assert DEFAULT.next_opening(t) == t
    assert DEFAULT.next_opening(at(CET, 2026, 12, 7, 12)) == at(CET, 2026, 12, 7, 14)


def test_is_open_respects_half_open_intervals_and_lunch() -> None:
    assert DEFAULT.is_open(at(CET, 2026, 12, 7, 9))
    assert DEFAULT.is_open(at(CET, 2026, 12, 7, 11, 59, 59))
    assert not DEFAULT.is_open(at(CET, 2026, 12, 7, 12))
    assert not DEFAULT.is_open(at(CET, 2026, 12, 7, 13))
    assert not DEFAULT.is_open(at(CET, 2026, 12, 7, 18))
    assert not DEFAULT.is_open(at(CET, 2026, 12, 6, 10))  # Sunday
    assert DEFAULT.is_open(at(UTC, 2026, 12, 7, 8))  # 09:00 in UTC+1, given in UTC


def test_deadline_ending_exactly_at_closing_is_the_closing_time() -> None:
    assert DEFAULT.add_working_time(at(CET, 2026, 12, 7, 9), timedelta(hours=3)) == at(CET, 2026, 12, 7, 12)


def test_zero_working_time() -> None:
    open_t = at(CET, 2026, 12, 7, 10, 0, 0)
    assert DEFAULT.add_working_time(open_t, timedelta(0)) == open_t
    assert DEFAULT.add_working_time(at(CET, 2026, 12, 7, 12), timedelta(0)) == at(CET, 2026, 12, 7, 14)


def test_working_time_between() -> None:
    monday = at(CET, 2026, 12, 7)
    assert DEFAULT.working_time_between(monday, monday + timedelta(weeks=1)) == timedelta(hours=35)
    assert DEFAULT.working_time_between(at(CET, 2026, 12, 7, 11), at(CET, 2026, 12, 7, 15)) == timedelta(
        hours=2
    )
    assert DEFAULT.working_time_between(monday + timedelta(days=1), monday) == timedelta(0)
    assert DEFAULT.working_time_between(monday, monday) == timedelta(0)


def test_rejects_naive_datetimes_and_negative_durations() -> None:
    with pytest.raises(ValueError, match="naive"):
        DEFAULT.is_open(datetime(2026, 12, 7, 10))
    with pytest.raises(ValueError, match="negative"):
        DEFAULT.add_working_time(at(CET, 2026, 12, 7, 10), timedelta(minutes=-1))


# -- construction -----------------------------------------------------------------------


@pytest.mark.parametrize("hours", [{}, {0: []}, {day: [] for day in range(7)}])
def test_a_calendar_without_working_hours_is_refused(hours: dict) -> None:
    with pytest.raises(ValueError, match="the calendar has no working hours"):
        BusinessCalendar(CET, hours)


@pytest.mark.parametrize(
    "hours",
    [
        {7: SPLIT_DAY},
        {0: [(time(12), time(9))]},
        {0: [(time(9), time(9))]},
        {0: [(time(14), time(18)), (time(9), time(12))]},
        {0: [(time(9), time(15)), (time(14), time(18))]},
        {0: [(time(9), time(12)), (time(22), time(0)), (time(23), time(23, 30))]},
        {0: [(time(9, tzinfo=UTC), time(12))]},
    ],
)
def test_invalid_hours_are_refused(hours: dict) -> None:
    with pytest.raises(ValueError):
        BusinessCalendar(CET, hours)


def test_unknown_country_is_refused() -> None:
    with pytest.raises(ValueError, match="holidays package"):
        BusinessCalendar(CET, WEEKDAYS, country="XX")


def test_country_holidays_close_the_day_in_any_year() -> None:
    cal = BusinessCalendar(PARIS, WEEKDAYS, country="FR")
    # Friday 1 May 2026 is Labour Day: Thursday 17:00 + 2h ends Monday 10:00.
    assert cal.add_working_time(at(PARIS, 2026, 4, 30, 17), timedelta(hours=2)) == at(PARIS, 2026, 5, 4, 10)
    assert not cal.is_open(at(PARIS, 2042, 7, 14, 10))  # Bastille Day, a Monday
    assert cal.is_open(at(PARIS, 2042, 7, 15, 10))


def test_holidays_are_local_dates() -> None:
    # 23:30 UTC on Sunday is already Monday in a UTC+10 calendar, and Monday is a holiday.
    cal = BusinessCalendar(
        timezone(timedelta(hours=10)), {0: [(time(0), time(0))]}, holidays=[date(2026, 12, 7)]
    )
    assert not cal.is_open(at(UTC, 2026, 12, 6, 23, 30))
    assert cal.next_opening(at(UTC, 2026, 12, 6, 23, 30)) == at(timezone(timedelta(hours=10)), 2026, 12, 14)


# -- daylight saving in Europe/Paris (2026: 29 March and 25 October) -------------------


def test_weekday_deadline_across_spring_forward_counts_real_hours() -> None:
    cal = BusinessCalendar(PARIS, WEEKDAYS)
    result = cal.add_working_time(at(PARIS, 2026, 3, 27, 17), timedelta(hours=4))
    assert result == at(PARIS, 2026, 3, 30, 12)
    assert result == at(UTC, 2026, 3, 30, 10)
    assert cal.next_opening(at(PARIS, 2026, 3, 28, 12)) == at(UTC, 2026, 3, 30, 7)
    assert cal.next_opening(at(PARIS, 2026, 10, 24, 12)) == at(UTC, 2026, 10, 26, 8)
    friday, tuesday = at(PARIS, 2026, 3, 27), at(PARIS, 2026, 3, 31)
    assert cal.working_time_between(friday, tuesday) == timedelta(hours=14)


def test_sunday_night_window_has_its_real_length_on_dst_days() -> None:
    cal = BusinessCalendar(PARIS, {day: [(time(1), time(4))] for day in range(7)})
    spring = cal.working_time_between(at(PARIS, 2026, 3, 29), at(PARIS, 2026, 3, 30))
    autumn = cal.working_time_between(at(PARIS, 2026, 10, 25), at(PARIS, 2026, 10, 26))
    ordinary = cal.working_time_between(at(PARIS, 2026, 4, 5), at(PARIS, 2026, 4, 6))
    assert (spring, autumn, ordinary) == (timedelta(hours=2), timedelta(hours=4), timedelta(hours=3))
    # 1h30 into the window: 03:30 CEST in spring, the second 02:30 (CET) in autumn.
    assert cal.add_working_time(at(PARIS, 2026, 3, 28, 23), timedelta(minutes=90)) == at(
        UTC, 2026, 3, 29, 1, 30
    )
    autumn_end = cal.add_working_time(at(PARIS, 2026, 10, 24, 23), timedelta(minutes=210))
    assert autumn_end == at(UTC, 2026, 10, 25, 2, 30)
    assert cal.format_local(autumn_end) == "Sun 25 Oct 2026 03:30 (Europe/Paris)"
    assert cal.is_open(at(UTC, 2026, 10, 25, 1, 30))  # inside the repeated hour


def test_skipped_and_repeated_wall_times_map_to_their_first_instant() -> None:
    cal = BusinessCalendar(PARIS, {6: [(time(2, 30), time(5))]})
    # 02:30 does not exist on 29 March 2026: the window opens at the jump (03:00 CEST).
    assert cal.next_opening(at(PARIS, 2026, 3, 28, 12)) == at(UTC, 2026, 3, 29, 1)
    # 02:30 happens twice on 25 October 2026: the window opens at the first one (CEST).
    assert cal.next_opening(at(PARIS, 2026, 10, 24, 12)) == at(UTC, 2026, 10, 25, 0, 30)
    inside_gap = BusinessCalendar(PARIS, {6: [(time(2, 15), time(2, 45)), (time(9), time(10))]})
    assert inside_gap.next_opening(at(PARIS, 2026, 3, 28, 12)) == at(PARIS, 2026, 3, 29, 9)


# -- text -------------------------------------------------------------------------------


def test_describe_hours() -> None:
    assert DEFAULT.describe_hours() == "Monday to Friday, 09:00-12:00 and 14:00-18:00 (UTC+01:00)"
    irregular = {0: [(time(9), time(12))], **{day: [(time(9), time(18))] for day in range(1, 5)}}
    assert (
        BusinessCalendar(PARIS, irregular).describe_hours()
        == "Mon 09:00-12:00; Tue-Fri 09:00-18:00 (Europe/Paris)"
    )
    every_day = BusinessCalendar(UTC, {day: [(time(0), time(0))] for day in range(7)})
    assert every_day.describe_hours() == "Every day, 00:00-24:00 (UTC)"
    gapped = BusinessCalendar(CET, {0: SPLIT_DAY, 1: SPLIT_DAY, 3: SPLIT_DAY}, country="fr")
    assert gapped.describe_hours() == (
        "Monday and Tuesday, Thursday, 09:00-12:00 and 14:00-18:00 (UTC+01:00); closed on public holidays (FR)"
    )


def test_format_local() -> None:
    assert DEFAULT.format_local(at(UTC, 2026, 12, 7, 8)) == "Mon 7 Dec 2026 09:00 (UTC+01:00)"
    assert PARIS_FR.format_local(at(UTC, 2026, 7, 14, 12, 5)) == "Tue 14 Jul 2026 14:05 (Europe/Paris)"
    assert DEFAULT.local(at(UTC, 2026, 12, 7, 8)).utcoffset() == timedelta(hours=1)


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("+01:00", 60),
        ("-05:30", -330),
        ("+0100", 60),
        ("UTC+1", 60),
        ("GMT+1", 60),
        ("UTC", 0),
        ("Z", 0),
        ("z", 0),
    ],
)
def test_parse_timezone_offsets(text: str, offset: int) -> None:
    assert parse_timezone(text).utcoffset(None) == timedelta(minutes=offset)


def test_parse_timezone_iana_names() -> None:
    assert parse_timezone("Europe/Paris") == PARIS
    assert parse_timezone(" America/New_York ").utcoffset(datetime(2026, 1, 1)) == timedelta(hours=-5)


@pytest.mark.parametrize("text", ["", "Mars/Olympus", "Europe", "+25:00", "+01:75", "../etc/passwd", "1h"])
def test_parse_timezone_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError, match="is not a timezone"):
        parse_timezone(text)
