"""The weekly SLA report, posted by the sweep once per week across restarts and processes.

Each week's slot (the policy's weekday and time, local) is recorded in the desk ledger under a
unique key before the report is queued, in one transaction: whichever process records it first
posts it, every other (or a restart) finds it recorded. A slot missed while the bot was down is
posted at the first sweep after (only the latest one).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.desk import Desk
from bot.policy import WeeklyReport
from bot.reporting.requests import emit_report
from bot.time.calendar import BusinessCalendar

KIND = "weekly_report"
WEEK = timedelta(days=7)


def latest_slot(cal: BusinessCalendar, weekly: WeeklyReport, now: datetime) -> datetime:
    """The latest local weekday-and-time at or before `now`."""
    local = cal.local(now)
    day = local.date() - timedelta(days=(local.weekday() - weekly.weekday) % 7)
    slot = datetime.combine(day, weekly.at, tzinfo=cal.tz).astimezone(cal.tz)
    return slot - WEEK if slot > local else slot


async def post_weekly_report(desk: Desk) -> int:
    """Queue the report of the week before the latest slot, unless it was queued already; returns 1 if queued."""
    weekly = desk.policy.weekly_report
    if weekly is None:
        return 0
    now = desk.clock.now()
    slot = latest_slot(desk.policy.calendar, weekly, now)
    async with desk.uow() as uow:
        if not await uow.reminders.record_desk(KIND, slot.date().toordinal(), now):
            return 0
        await emit_report(uow, now, weekly.channel, slot - WEEK, slot)
        await uow.commit()
    return 1
