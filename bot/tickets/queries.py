"""Read-only answers: a customer's tickets, and the staff's /tickets views and statistics."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.commands import Customer, Staff
from bot.desk import Desk
from bot.domain import MessageKind, Ticket, TicketStatus
from bot.errors import Refusal
from bot.repositories import TicketStats
from bot.texts import Text, render
from bot.tickets.opening import linked_account
from bot.tickets.staff_scope import check_may_act, visible_channels
from bot.tickets.ticket_numbers import find_ticket
from bot.time.durations import format_duration

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


# Working time is counted day by day: beyond this span a date says more than a count would.
LONG_SPAN = timedelta(days=31)
PAGE = 25  # /tickets shows this many, nearest deadlines first, and says how many more there are


def time_left(desk: Desk, ticket: Ticket, now: datetime) -> str:
    if ticket.status is not TicketStatus.AWAITING_STAFF or ticket.sla_due_at is None:
        return "-"
    cal, due = desk.policy.calendar, ticket.sla_due_at
    if now >= due:
        if now - due > LONG_SPAN:
            return f"OVERDUE since {cal.format_local(due)}"
        return f"OVERDUE by {format_duration(cal.working_time_between(due, now))}"
    if due - now > LONG_SPAN:
        return f"due {cal.format_local(due)}"
    return f"{format_duration(cal.working_time_between(now, due))} left"


def ticket_line(desk: Desk, ticket: Ticket, now: datetime) -> str:
    return (f"#{ticket.number} [{ticket.product}] {ticket.subject} | {STAFF_STATUS[ticket.status]} | "
            f"{ticket.assignee or 'unassigned'} | {time_left(desk, ticket, now)}")


async def staff_open_tickets(desk: Desk, staff: Staff, assignee: str | None = None, page: int = PAGE) -> str:
    """The open tickets in this staff member's scope (bot/tickets/staff_scope.py) nearest their deadline
    (only `assignee`'s, if given), at most `page` of them."""
    now = desk.clock.now()
    channels = visible_channels(desk.policy, staff)
    async with desk.uow() as uow:
        tickets = await uow.tickets.open_page(page, assignee=assignee, channels=channels)
        total = (await uow.tickets.count_open(assignee=assignee, channels=channels) if len(tickets) >= page
                 else len(tickets))
    if not tickets:
        return "No open tickets."
    lines = ["Open tickets by deadline:", *(ticket_line(desk, t, now) for t in tickets)]
    if total > len(tickets):
        lines.append(f"… and {total - len(tickets)} more.")
    return "\n".join(lines)


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
    """Counts and first-answer times per product in this staff member's scope, aggregated by the database."""
    now = desk.clock.now()
    start, end = now - timedelta(days=days), now + timedelta(microseconds=1)
    channels = visible_channels(desk.policy, staff)
    cal, promise = desk.policy.calendar, desk.policy.sla.response
    async with desk.uow() as uow:
        stats = {s.product: s for s in await uow.tickets.stats_between(start, end, promise.total_seconds(),
                                                                          channels=channels)}
        unmeasured = await uow.tickets.unmeasured_answers(start, end, channels=channels)
    for old in unmeasured:  # answered before the working time was stored: measured here, once per view
        work = cal.working_time_between(old.opened_at, old.first_response_at)
        row = stats.setdefault(old.product, TicketStats(old.product))
        row.answered += 1
        row.answer_work_s += work.total_seconds()
        row.answered_within += work <= promise
    opened, closed = sum(s.opened for s in stats.values()), sum(s.closed for s in stats.values())
    lines = [f"Last {days} days: {opened} opened, {closed} closed."]
    for sku in sorted(stats):
        s = stats[sku]
        avg = format_duration(timedelta(seconds=s.answer_work_s / s.answered)) if s.answered else "-"
        share = f"{100 * s.answered_within // s.answered}%" if s.answered else "-"
        lines.append(f"{sku}: {s.opened} opened, {s.closed} closed, average first answer {avg}, "
                     f"answered within {format_duration(promise)}: {share}")
    return "\n".join(lines)
