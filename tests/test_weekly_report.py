"""The weekly SLA report: posted by the sweep once per week, across a restart and two processes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from bot.domain import Target
from bot.policy import WeeklyReport
from bot.reporting.weekly import latest_slot
from bot.time.clock import ManualClock
from bot.time.timers import sweep
from storage.models import outbox
from tests.core_helpers import make_desk, make_policy
from tests.test_timers_storage import another_process

WEEKLY = WeeklyReport("support-leads", weekday=0, at=time(9))  # Mondays 09:00, UTC+01:00
MONDAY_0930 = datetime(2026, 12, 7, 8, 30, tzinfo=UTC)


def report_rows(desk):  # type: ignore[no-untyped-def]
    return [o for o in desk.uow.state.outbox.values() if o.action == "report"]


def test_latest_slot_is_the_last_weekday_and_time_passed() -> None:
    cal = make_policy().calendar
    assert latest_slot(cal, WEEKLY, MONDAY_0930) == datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    assert latest_slot(cal, WEEKLY, datetime(2026, 12, 7, 7, 59, tzinfo=UTC)) == datetime(2026, 11, 30, 8, tzinfo=UTC)
    assert latest_slot(cal, WEEKLY, datetime(2026, 12, 10, 12, tzinfo=UTC)) == datetime(2026, 12, 7, 8, tzinfo=UTC)


async def test_the_sweep_queues_one_report_per_week_into_the_channel() -> None:
    desk = make_desk(clock=ManualClock(MONDAY_0930), weekly_report=WEEKLY)
    await sweep(desk)
    await sweep(desk)
    [row] = report_rows(desk)
    assert row.target is Target.STAFF and row.ticket_id is None
    assert row.payload == {"channel": "support-leads", "since": "2026-11-30T09:00:00+01:00",
                           "until": "2026-12-07T09:00:00+01:00"}
    desk.clock.advance(days=6, hours=23)  # Monday 08:30: not yet
    await sweep(desk)
    assert len(report_rows(desk)) == 1
    desk.clock.advance(hours=1)
    await sweep(desk)
    assert [r.payload["until"] for r in report_rows(desk)] == ["2026-12-07T09:00:00+01:00", "2026-12-14T09:00:00+01:00"]


async def test_no_report_without_a_report_section() -> None:
    desk = make_desk(clock=ManualClock(MONDAY_0930))
    await sweep(desk)
    assert report_rows(desk) == []


async def test_once_across_a_restart_and_two_processes(db_url: str) -> None:
    clock = ManualClock(MONDAY_0930)
    pol = make_policy(weekly_report=WEEKLY)
    async with another_process(db_url, clock, pol) as first, another_process(db_url, clock, pol) as second:
        await asyncio.gather(sweep(first), sweep(second), sweep(first))
    clock.advance(hours=2)
    async with another_process(db_url, clock, pol) as restarted:  # a restart later the same week
        await sweep(restarted)
        async with restarted.uow() as uow:
            db = uow._db  # type: ignore[attr-defined]
            rows = (await db.execute(select(outbox.c.payload).where(outbox.c.action == "report"))).all()
    assert [r.payload["until"] for r in rows] == ["2026-12-07T09:00:00+01:00"]


def test_the_policy_file_reads_report_and_satisfaction() -> None:
    import pytest

    from supportbot.policy_file import PolicyError, _policy_from

    base = {"calendar": {}, "sla": {}, "limits": {}, "desk": {}}
    policy = _policy_from({**base, "report": {"channel": "leads", "weekday": "Friday", "time": "17:30"},
                           "satisfaction": {"window": "3d"}})
    assert policy.weekly_report == WeeklyReport("leads", 4, time(17, 30))
    assert policy.rating_window == timedelta(days=3)
    assert _policy_from(base).weekly_report is None and _policy_from(base).rating_window == timedelta(days=7)
    assert _policy_from({**base, "satisfaction": {"enabled": False}}).rating_window is None
    with pytest.raises(PolicyError) as bad:
        _policy_from({**base, "report": {"weekday": "someday", "time": "9h"}, "satisfaction": {"window": "soon"}})
    assert bad.value.problems == [
        "report.channel: missing",
        "report.weekday: 'someday' is not a weekday: use one of mon, tue, wed, thu, fri, sat, sun",
        "report.time: '9h' is not a time of day: write HH:MM, e.g. 09:00",
        "satisfaction.window: 'soon' is not a duration: use e.g. 4h, 30m, 2d4h30m",
    ]
