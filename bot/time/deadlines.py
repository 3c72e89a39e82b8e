"""The ticket lifecycle's clocks: every deadline is recomputed here at each state change."""

from __future__ import annotations

from datetime import datetime

from bot.domain import CloseReason, Ticket, TicketStatus
from bot.policy import Policy


def _clear(ticket: Ticket) -> None:
    ticket.sla_warn_at = ticket.sla_due_at = None
    ticket.nudge_at = ticket.autoclose_warn_at = ticket.autoclose_at = None
    ticket.overdue_since = None


def await_staff(ticket: Ticket, now: datetime, policy: Policy, first: bool = False) -> None:
    """The customer waits on staff from `now`: a new answer-promise clock in working time."""
    cal, sla = policy.calendar, policy.sla
    if not first:
        ticket.period += 1
    _clear(ticket)
    ticket.status = TicketStatus.AWAITING_STAFF
    ticket.waiting_since = now
    ticket.sla_due_at = cal.add_working_time(now, sla.response)
    ticket.sla_warn_at = cal.add_working_time(now, max(sla.response - sla.warn_before, sla.response * 0))


def await_customer(ticket: Ticket, now: datetime, policy: Policy) -> None:
    """Staff answered: the answer clock stops; the inactivity clocks (calendar time) start."""
    sla = policy.sla
    ticket.period += 1
    _clear(ticket)
    ticket.status = TicketStatus.AWAITING_CUSTOMER
    ticket.waiting_since = now
    if ticket.first_response_at is None:
        ticket.first_response_at = now
        ticket.first_response_work_s = policy.calendar.working_time_between(ticket.opened_at, now).total_seconds()
    ticket.autoclose_at = now + sla.auto_close_after
    ticket.autoclose_warn_at = ticket.autoclose_at - sla.auto_close_warning
    if sla.nudge_after < sla.auto_close_after - sla.auto_close_warning:
        ticket.nudge_at = now + sla.nudge_after


def close(ticket: Ticket, now: datetime, reason: CloseReason, by: str) -> None:
    ticket.period += 1
    _clear(ticket)
    ticket.status = TicketStatus.CLOSED
    ticket.licence_check_at = None
    ticket.closed_at = now
    ticket.close_reason = reason
    ticket.closed_by = by
