"""Ticket actions: claim, close (by the customer or by staff with a reason), request access."""

from __future__ import annotations

from datetime import datetime

from bot.commands import Claim, CustomerClose, Staff, StaffClose
from bot.customers.accounts import last_valid_day
from bot.delivery.effects import audit, emit
from bot.desk import Desk
from bot.domain import CloseReason, Target, Ticket
from bot.errors import Refusal
from bot.policy import Policy
from bot.ports import UnitOfWork
from bot.reporting.transcripts import emit_customer_transcript, emit_staff_transcript
from bot.secrets.access import destroy_access
from bot.texts import Text
from bot.tickets import snippets
from bot.tickets.customer_tickets import own_open_ticket
from bot.tickets.opening import linked_account
from bot.tickets.satisfaction import ask_for_rating
from bot.tickets.staff_scope import check_may_act
from bot.tickets.ticket_numbers import find_ticket
from bot.time import deadlines


async def open_ticket_for_staff(uow: UnitOfWork, number: int, staff: Staff, policy: Policy) -> Ticket:
    """The open ticket `number`, locked, if this staff member may act on it (bot/tickets/staff_scope.py)."""
    ticket = await find_ticket(uow, number, lock=True)
    if ticket is None:
        raise Refusal("no_such_ticket", number=number)
    check_may_act(policy, staff, ticket)
    if not ticket.is_open:
        raise Refusal("staff_ticket_closed", number=number)
    return ticket


async def close_ticket(
    uow: UnitOfWork, ticket: Ticket, now: datetime, reason: CloseReason, by: str, customer_text: Text,
    desk: Desk | None = None,
) -> None:
    """Close for good: tell the customer, lock their thread, update the card, destroy any
    temporary access. Used by every closer. With `desk`, the customer is asked for a rating
    (bot/tickets/satisfaction.py: not after inactivity)."""
    deadlines.close(ticket, now, reason, by)
    await uow.tickets.save(ticket)
    await destroy_access(uow, ticket, now, by)
    await emit(uow, now, Target.CUSTOMER, "post", ticket, text=customer_text)
    await emit_customer_transcript(uow, now, ticket)  # before the lock: the thread must still take posts
    if desk is not None:
        await ask_for_rating(uow, desk, ticket, now)
    await emit(uow, now, Target.CUSTOMER, "lock", ticket)
    await emit(uow, now, Target.STAFF, "card_update", ticket)
    await emit_staff_transcript(uow, now, ticket)
    await audit(uow, now, by, "closed", ticket, reason=reason.value)


async def claim(desk: Desk, cmd: Claim) -> Text:
    now = desk.clock.now()
    async with desk.uow() as uow:
        ticket = await open_ticket_for_staff(uow, cmd.ticket_number, cmd.staff, desk.policy)
        ticket.assignee = cmd.staff.user_id  # platforms render ids as names (and can mention them)
        await uow.tickets.save(ticket)
        await emit(uow, now, Target.STAFF, "card_update", ticket)
        await audit(uow, now, f"staff:{cmd.staff.user_id}", "claimed", ticket)
        await uow.commit()
    return Text("claimed", {"number": cmd.ticket_number, "staff": cmd.staff.display_name})


async def staff_close(desk: Desk, cmd: StaffClose) -> Text:
    now = desk.clock.now()
    async with desk.uow() as uow:
        ticket = await open_ticket_for_staff(uow, cmd.ticket_number, cmd.staff, desk.policy)
        params = {"number": ticket.number, "subject": ticket.subject,
                  "expired_on": last_valid_day(ticket.licence_expires_at),
                  "renew_url": desk.policy.renew_url or "-"}
        text = snippets.close_text(desk.policy, ticket, cmd.reason) or Text(
            f"closed_{cmd.reason.value.replace('-', '_')}", params)
        await close_ticket(uow, ticket, now, cmd.reason, f"staff:{cmd.staff.user_id}", text, desk)
        await emit(uow, now, Target.STAFF, "post", ticket,
                   text=Text("staff_closed_note", {"staff": cmd.staff.display_name, "reason": cmd.reason.value}))
        await uow.commit()
    return Text("staff_closed", {"number": cmd.ticket_number, "reason": cmd.reason.value})


async def customer_close(desk: Desk, cmd: CustomerClose) -> Text:
    now = desk.clock.now()
    who = cmd.customer
    async with desk.uow() as uow:
        account_id, _ = await linked_account(uow, who)
        ticket = await own_open_ticket(uow, who, cmd.ticket_number, account_id)
        text = Text("closed_by_customer", {"number": ticket.number})
        await close_ticket(uow, ticket, now, CloseReason.RESOLVED, f"{who.platform}:{who.user_id}", text, desk)
        await emit(uow, now, Target.STAFF, "post", ticket, text=Text("customer_closed_note", {"name": ticket.customer_name}))
        await uow.commit()
    return Text("closed_ok", {"number": ticket.number})


async def request_access(desk: Desk, staff: Staff, number: int) -> Text:
    now = desk.clock.now()
    async with desk.uow() as uow:
        ticket = await open_ticket_for_staff(uow, number, staff, desk.policy)
        # access_form: the customer side offers a button opening the private form (bot/secrets/access.py)
        await emit(uow, now, Target.CUSTOMER, "post", ticket, text=Text("access_request", {"staff": staff.display_name}),
                   access_form=True)
        await emit(uow, now, Target.STAFF, "post", ticket, text=Text("access_requested_note", {"staff": staff.display_name}))
        await audit(uow, now, f"staff:{staff.user_id}", "access_requested", ticket)
        await uow.commit()
    return Text("access_requested", {"number": number})
