"""The sweep: everything the calendar made due (answer-promise warning and breach, nudge,
auto-close warning and auto-close, licence expiry, expired temporary access) fires here, once each.

Due tickets are claimed in short transactions (SKIP LOCKED on PostgreSQL, so several
processes can sweep one database) and every reminder is written under the ledger's unique
(ticket, kind, period) key: a reminder fires once across restarts and processes. A deadline
is disarmed (set to None) once handled, so the sweep costs what is due, not what is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.customers.accounts import last_valid_day
from bot.delivery.effects import emit
from bot.desk import Desk
from bot.domain import CloseReason, Target, Ticket
from bot.ports import LicenceUnavailable, UnitOfWork
from bot.reporting.weekly import post_weekly_report
from bot.secrets.access import purge_expired_access
from bot.texts import Text
from bot.tickets.actions import close_ticket

log = logging.getLogger(__name__)
BATCH = 100
LICENCE_RETRY = timedelta(hours=1)
LICENCE_RECHECK = timedelta(days=1)

Handler = Callable[[UnitOfWork, Desk, Ticket, datetime], Awaitable[None]]


def _params(desk: Desk, ticket: Ticket, lang: str = "en") -> dict[str, object]:
    """Staff read English; pass the ticket's locale for what the customer reads."""
    cal = desk.policy.calendar
    return {"number": ticket.number, "subject": ticket.subject,
            "deadline": cal.format_local(ticket.sla_due_at, lang) if ticket.sla_due_at else "-",
            "closes_on": cal.format_local(ticket.autoclose_at, lang) if ticket.autoclose_at else "-",
            "expired_on": last_valid_day(ticket.licence_expires_at),
            "renew_url": desk.policy.renew_url or "-"}


async def _warn(uow: UnitOfWork, desk: Desk, ticket: Ticket, now: datetime) -> None:
    ticket.sla_warn_at = None
    mention = ticket.assignee or f"channel:{ticket.staff_channel}"
    await emit(uow, now, Target.STAFF, "post", ticket, text=Text("sla_warning", _params(desk, ticket)), mention=mention)


async def _breach(uow: UnitOfWork, desk: Desk, ticket: Ticket, now: datetime) -> None:
    ticket.overdue_since, ticket.sla_due_at = ticket.sla_due_at, None
    mention = " ".join(desk.policy.leads) or f"channel:{ticket.staff_channel}"
    params = {**_params(desk, ticket), "deadline": desk.policy.calendar.format_local(ticket.overdue_since or now)}
    await emit(uow, now, Target.STAFF, "post", ticket, text=Text("sla_breach", params), mention=mention)
    await emit(uow, now, Target.STAFF, "card_update", ticket)


async def _nudge(uow: UnitOfWork, desk: Desk, ticket: Ticket, now: datetime) -> None:
    ticket.nudge_at = None
    await emit(uow, now, Target.CUSTOMER, "post", ticket, text=Text("nudge", _params(desk, ticket, ticket.locale)), close_button=True)


async def _autoclose_warning(uow: UnitOfWork, desk: Desk, ticket: Ticket, now: datetime) -> None:
    ticket.autoclose_warn_at = None
    await emit(uow, now, Target.CUSTOMER, "post", ticket, text=Text("autoclose_warning", _params(desk, ticket, ticket.locale)))


async def _autoclose(uow: UnitOfWork, desk: Desk, ticket: Ticket, now: datetime) -> None:
    await close_ticket(uow, ticket, now, CloseReason.INACTIVITY, "system",
                       Text("closed_inactivity", _params(desk, ticket, ticket.locale)))
    await emit(uow, now, Target.STAFF, "post", ticket, text=Text("autoclosed_note", _params(desk, ticket)))


# column -> (ledger kind, handler); handlers save nothing themselves
DEADLINES: dict[str, tuple[str, Handler]] = {
    "sla_warn_at": ("sla_warning", _warn),
    "sla_due_at": ("sla_breach", _breach),
    "nudge_at": ("nudge", _nudge),
    "autoclose_warn_at": ("autoclose_warning", _autoclose_warning),
    "autoclose_at": ("autoclose", _autoclose),
}


async def _sweep_column(desk: Desk, column: str, kind: str, handler: Handler) -> int:
    fired = 0
    while True:
        now = desk.clock.now()
        async with desk.uow() as uow:
            due = await uow.tickets.claim_due(column, now, BATCH)
            for ticket in due:
                assert ticket.id is not None
                if await uow.reminders.record(ticket.id, kind, ticket.period, now):
                    await handler(uow, desk, ticket, now)
                    fired += 1
                else:
                    setattr(ticket, column, None)  # fired already (another process, before a crash)
                await uow.tickets.save(ticket)
            await uow.commit()
        if len(due) < BATCH:
            return fired


async def _renewed_expiry(desk: Desk, ticket: Ticket) -> datetime | None:
    """The licence may have been renewed since the ticket opened: the latest expiry the source
    knows for this product, or None. Raises LicenceUnavailable when the source cannot tell."""
    licences = await desk.licences.for_email(ticket.customer_email)
    return max((lic.expires_at for lic in licences if lic.product == ticket.product), default=None)


async def _sweep_licences(desk: Desk) -> int:
    """Tickets whose licence_check_at fell due. The source is asked outside any transaction
    (it may be an HTTP API); the ticket is then locked and re-checked before acting."""
    fired = 0
    while True:
        now = desk.clock.now()
        async with desk.uow() as uow:
            due = await uow.tickets.claim_due("licence_check_at", now, BATCH)
        for candidate in due:
            try:
                latest = await _renewed_expiry(desk, candidate)
            except LicenceUnavailable:
                log.warning("licence source unavailable: ticket #%s is checked again in an hour", candidate.id)
                latest = None
                retry_at: datetime | None = now + LICENCE_RETRY
            else:
                retry_at = None
            async with desk.uow() as uow:
                ticket = await uow.tickets.get_for_update(candidate.number)
                if ticket is None or not ticket.is_open or ticket.licence_check_at is None or ticket.licence_check_at > now:
                    continue  # another sweeper handled it, or it changed meanwhile
                if retry_at is not None:
                    ticket.licence_check_at = retry_at
                elif latest is not None and latest > now:  # renewed: check again at the new expiry
                    ticket.licence_expires_at = ticket.licence_check_at = latest
                else:
                    # warn-only desks look again daily, to notice a renewal (closing clears it)
                    ticket.licence_check_at = now + LICENCE_RECHECK
                    # keyed by the expiry's day, so a renewed licence that expires again is told again
                    period = int(ticket.licence_expires_at.timestamp() // 86400)
                    if await uow.reminders.record(ticket.number, "licence_expired", period, now):
                        await _licence_expired(uow, desk, ticket, now)
                        fired += 1
                await uow.tickets.save(ticket)
                await uow.commit()
        if len(due) < BATCH:
            return fired


async def _licence_expired(uow: UnitOfWork, desk: Desk, ticket: Ticket, now: datetime) -> None:
    params = _params(desk, ticket)
    await emit(uow, now, Target.STAFF, "post", ticket, text=Text("licence_expired_note", params),
               mention=f"channel:{ticket.staff_channel}")
    if desk.policy.on_licence_expiry == "close":
        await close_ticket(uow, ticket, now, CloseReason.LICENCE_EXPIRED, "system",
                           Text("closed_licence_expired", params), desk)


async def sweep(desk: Desk) -> int:
    """Fire everything due now; returns how many reminders and closings fired."""
    fired = 0
    for column, (kind, handler) in DEADLINES.items():
        fired += await _sweep_column(desk, column, kind, handler)
    fired += await _sweep_licences(desk)
    fired += await purge_expired_access(desk, BATCH)  # temporary access dies at its expiry
    fired += await post_weekly_report(desk)  # bot/reporting/weekly.py: once per week, desk-wide
    return fired
