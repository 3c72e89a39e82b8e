"""Read-only answers: a customer's tickets, and the staff's /tickets views and statistics."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.commands import Customer, Staff
from bot.desk import Desk
from bot.domain import MessageKind, Ticket, TicketStatus
from bot.durations import format_duration
from bot.errors import Refusal
from bot.opening import linked_account
from bot.staff_scope import check_may_act, visible_channels
from bot.texts import Text, render
from bot.ticket_numbers import find_ticket

# how staff read a status (status_word is the customer's wording)
STAFF_STATUS = {TicketStatus.AWAITING_STAFF: "waiting for staff",
                TicketStatus.AWAITING_CUSTOMER: "waiting for the customer", TicketStatus.CLOSED: "closed"}


def status_word(status: TicketStatus, locale: str) -> str:
    """How the customer reads a status, in their language."""
    return render(Text(f"status_{status.value}"), locale)


async def customer_status(desk: Desk, who: Customer, number: int | None) -> Text:
    async with desk.uow() as uow:
        account_id, _ = await linked_account(uow, who)
        if number is None:
            mine = await uow.tickets.open_for_account(account_id)
            ticket: Ticket | None = mine[0] if len(mine) == 1 else None
        else:
            ticket = await find_ticket(uow, number)
    if number is None and ticket is None:  # none or several open: the list (after the transaction ended)
        return await customer_list(desk, who)
    if ticket is None or ticket.account_id != account_id:
        raise Refusal("unknown_ticket", number=number)
    cal = desk.policy.calendar
    return Text("status", {
        "number": ticket.number, "subject": ticket.subject, "product": ticket.product,
        "status": status_word(ticket.status, who.locale), "opened": cal.format_local(ticket.opened_at, who.locale),
        "deadline": cal.format_local(ticket.sla_due_at, who.locale) if ticket.sla_due_at else "-",
    })


async def customer_list(desk: Desk, who: Customer) -> Text:
    async with desk.uow() as uow:
        account_id, _ = await linked_account(uow, who)
        tickets = await uow.tickets.for_account(account_id)
    if not tickets:
        return Text("list_empty")
    lines = "\n".join(f"#{t.number} [{status_word(t.status, who.locale)}] {t.subject}" for t in tickets)
    return Text("list", {"tickets": lines})


def time_left(desk: Desk, ticket: Ticket, now: datetime) -> str:
    if ticket.status is not TicketStatus.AWAITING_STAFF or ticket.sla_due_at is None:
        return "-"
    cal = desk.policy.calendar
    if now >= ticket.sla_due_at:
        return f"OVERDUE by {format_duration(cal.working_time_between(ticket.sla_due_at, now))}"
    return f"{format_duration(cal.working_time_between(now, ticket.sla_due_at))} left"


def ticket_line(desk: Desk, ticket: Ticket, now: datetime) -> str:
    return (f"#{ticket.number} [{ticket.product}] {ticket.subject} | {STAFF_STATUS[ticket.status]} | "
            f"{ticket.assignee or 'unassigned'} | {time_left(desk, ticket, now)}")


async def staff_open_tickets(desk: Desk, staff: Staff, assignee: str | None = None) -> str:
    """Open tickets in this staff member's scope (bot/staff_scope.py), by deadline."""
    now = desk.clock.now()
    async with desk.uow() as uow:
        tickets = await uow.tickets.list_open(channels=visible_channels(desk.policy, staff))
    if assignee is not None:
        tickets = [t for t in tickets if t.assignee == assignee]
    far = now + timedelta(days=3650)
    tickets.sort(key=lambda t: (t.sla_due_at or far, t.number))
    if not tickets:
        return "No open tickets."
    return "Open tickets by deadline:\n" + "\n".join(ticket_line(desk, t, now) for t in tickets)


async def staff_ticket(desk: Desk, staff: Staff, number: int, recent: int = 10) -> str:
    now = desk.clock.now()
    async with desk.uow() as uow:
        ticket = await find_ticket(uow, number)
        if ticket is None:
            raise Refusal("no_such_ticket", number=number)
        check_may_act(desk.policy, staff, ticket)  # the card's details (the customer's e-mail) included
        messages = await uow.messages.for_ticket(number, limit=recent)
    lines = [ticket_line(desk, ticket, now),
             f"Customer: {ticket.customer_name} <{ticket.customer_email}>  Magento {ticket.magento_version}, "
             f"module {ticket.module_version}"]
    for m in messages:
        tag = {MessageKind.NOTE: "note", MessageKind.STAFF: "staff"}.get(m.kind, m.kind.value)
        lines.append(f"  {desk.policy.calendar.format_local(m.created_at)} {tag} {m.author_name}: {' '.join(m.body.split())[:200]}")  # one line each
    return "\n".join(lines)


async def staff_stats(desk: Desk, staff: Staff, days: int = 30) -> str:
    """Statistics over the tickets in this staff member's scope."""
    now = desk.clock.now()
    start = now - timedelta(days=days)
    channels = visible_channels(desk.policy, staff)
    async with desk.uow() as uow:
        opened = await uow.tickets.opened_between(start, now + timedelta(microseconds=1), channels=channels)
        closed = await uow.tickets.closed_between(start, now + timedelta(microseconds=1), channels=channels)
    cal, promise = desk.policy.calendar, desk.policy.sla.response
    lines = [f"Last {days} days: {len(opened)} opened, {len(closed)} closed."]
    for sku in sorted({t.product for t in opened} | {t.product for t in closed}):
        mine = [t for t in opened if t.product == sku]
        waits = [cal.working_time_between(t.opened_at, t.first_response_at) for t in mine if t.first_response_at]
        avg = format_duration(sum(waits, timedelta()) / len(waits)) if waits else "-"
        within = sum(1 for w in waits if w <= promise)
        share = f"{100 * within // len(waits)}%" if waits else "-"
        n_closed = sum(1 for t in closed if t.product == sku)
        lines.append(f"{sku}: {len(mine)} opened, {n_closed} closed, average first answer {avg}, "
                     f"answered within {format_duration(promise)}: {share}")
    return "\n".join(lines)
