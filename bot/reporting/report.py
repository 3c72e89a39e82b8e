"""Loading the SLA report for a period from the store, and the period itself from dates."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from bot.desk import Desk
from bot.errors import Refusal
from bot.reporting.sla import SlaReport, build_report
from bot.reporting.transcripts import ALL_MESSAGES

DEFAULT_DAYS = 7
# next answers given in the period may belong to tickets opened up to this long before it
LOOKBACK = timedelta(days=90)


def local_midnight(desk: Desk, day: date) -> datetime:
    cal = desk.policy.calendar
    return datetime.combine(day, time(0), tzinfo=cal.tz).astimezone(cal.tz)


def period(desk: Desk, since: date | None = None, until: date | None = None) -> tuple[datetime, datetime]:
    """[start, end): from the start of `since` to the end of `until` (both days included, in the desk's
    timezone); by default the 7 days up to now."""
    # up to now included: what happened this very instant is in the report
    end = local_midnight(desk, until + timedelta(days=1)) if until else desk.clock.now() + timedelta(microseconds=1)
    start = local_midnight(desk, since) if since else end - timedelta(days=DEFAULT_DAYS)
    if start >= end:
        raise Refusal("report_bad_period")
    return start, end


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise Refusal("report_bad_date", value=text) from None


async def load_report(desk: Desk, since: datetime, until: datetime,
                      channels: frozenset[str] | None = None) -> SlaReport:
    """`channels`: only the tickets of these staff channels (a staff member's scope); None: all."""
    async with desk.uow() as uow:
        earlier = await uow.tickets.opened_between(since - LOOKBACK, until, channels=channels)
        closed = await uow.tickets.closed_between(since, until, channels=channels)
        tickets = {t.number: t for t in earlier if t.closed_at is None or t.closed_at >= since}
        tickets.update({t.number: t for t in closed})
        messages = {n: await uow.messages.for_ticket(n, limit=ALL_MESSAGES) for n in tickets}
        ratings = await uow.ratings.for_tickets(list(tickets))
    policy = desk.policy
    return build_report(policy.calendar, policy.sla.response, since, until, tickets.values(), messages,
                        {n: r.score for n, r in ratings.items()})
