"""Asking for the SLA report: staff on demand (/tickets report), the scheduler weekly.

The summary is answered at once; the chart (and, weekly, the summary) is posted into a channel
through the outbox (Target.STAFF action "report"), like everything else the bot sends.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from bot.commands import Staff
from bot.delivery.effects import audit, emit
from bot.desk import Desk
from bot.domain import Target
from bot.errors import Refusal
from bot.ports import UnitOfWork
from bot.reporting.report import load_report, parse_day, period
from bot.reporting.report_text import report_text
from bot.reporting.sla import SlaReport
from bot.tickets.staff_scope import visible_channels

USAGE = "usage: /tickets report [since:YYYY-MM-DD] [until:YYYY-MM-DD]"


def report_options(words: list[str]) -> tuple[date | None, date | None]:
    """`since:2026-12-01 until:2026-12-07` (either or both); a Refusal names what is wrong."""
    found: dict[str, date] = {}
    for word in words:
        name, sep, value = word.partition(":")
        if not sep or name not in ("since", "until"):
            raise Refusal("console_usage", message=USAGE)
        found[name] = parse_day(value)
    return found.get("since"), found.get("until")


async def emit_report(uow: UnitOfWork, now: datetime, channel: str, since: datetime, until: datetime) -> None:
    """The report with its summary, into the channel named in the policy."""
    await emit(uow, now, Target.STAFF, "report", None, channel=channel, since=since.isoformat(),
               until=until.isoformat())


async def staff_report(desk: Desk, who: Staff, channel: str, since: date | None = None,
                       until: date | None = None) -> tuple[SlaReport, str]:
    """The summary for this staff member now; the chart follows into `channel` through the outbox."""
    start, end = period(desk, since, until)
    scope = visible_channels(desk.policy, who)  # the products this staff member sees, like /tickets stats
    report = await load_report(desk, start, end, scope)
    now = desk.clock.now()
    async with desk.uow() as uow:
        # the channel the command came from, as the platform names it (an id in Slack)
        await emit(uow, now, Target.STAFF, "report", None, channel_id=channel, since=start.isoformat(),
                   until=end.isoformat(), chart_only=True, requested_by=who.user_id,
                   channels=sorted(scope) if scope is not None else None)
        await audit(uow, now, f"staff:{who.user_id}", "report_requested", None, since=start.isoformat(),
                    until=end.isoformat())
        await uow.commit()
    return report, report_text(desk.policy.calendar, report)


async def report_from_payload(desk: Desk, payload: dict[str, Any]) -> SlaReport:
    """What a delivery port needs for a "report" row: the report of the period the row names."""
    channels = payload.get("channels")
    return await load_report(desk, datetime.fromisoformat(payload["since"]), datetime.fromisoformat(payload["until"]),
                             frozenset(channels) if channels is not None else None)
