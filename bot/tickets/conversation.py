"""Messages in a ticket: customer posts, staff answers, internal notes, edits and deletions."""

from __future__ import annotations

from datetime import datetime

from bot.commands import CustomerPost, Edit, StaffPost
from bot.delivery.effects import audit, card_fields, effect, emit, emit_all
from bot.desk import Desk
from bot.domain import Message, MessageKind, Target, Ticket, TicketStatus
from bot.errors import Refusal
from bot.ports import UnitOfWork
from bot.repositories import OutboxRow
from bot.secrets.redaction import redact
from bot.texts import Text
from bot.tickets import snippets
from bot.tickets.customer_tickets import the_only_one
from bot.tickets.notes import NoteKind, classify
from bot.tickets.staff_scope import check_may_act
from bot.tickets.ticket_numbers import find_ticket
from bot.time import deadlines


async def tell_if_closed_now(uow: UnitOfWork, desk: Desk, ticket: Ticket, now: datetime) -> None:
    """Outside working hours, tell the customer when we open: once per closed period and ticket."""
    cal = desk.policy.calendar
    if cal.is_open(now):
        return
    opening = cal.next_opening(now)
    assert ticket.id is not None
    # the period is the opening's minute (fits a 32-bit column for millennia)
    if await uow.reminders.record(ticket.id, "out_of_hours", int(opening.timestamp() // 60), now):
        text = Text("out_of_hours", {"opening": cal.format_local(opening, ticket.locale)})
        await emit(uow, now, Target.CUSTOMER, "post", ticket, text=text)


async def _replace_redacted(uow: UnitOfWork, ticket: Ticket, message: Message, kinds: list[str],
                            now: datetime) -> None:
    """The customer's original (with the secret) is deleted on their side and reposted redacted."""
    what = ", ".join(kinds)
    await emit(uow, now, Target.CUSTOMER, "delete", ticket, message)
    await emit(uow, now, Target.CUSTOMER, "post", ticket,
               text=Text("secret_redacted", {"kinds": what, "name": ticket.customer_name, "body": message.body}))
    await emit(uow, now, Target.STAFF, "post", ticket, text=Text("secret_redacted_staff", {"kinds": what}))
    await audit(uow, now, f"{ticket.customer_platform}:{ticket.customer_user_id}", "secret_redacted", ticket,
                kinds=kinds)


async def _seen(uow: UnitOfWork, side: str, ref: str, platform: str, event_id: str, now: datetime) -> bool:
    """For a closed ticket: whether this message was met before, stored while the ticket was
    open (an open ticket's message is its own duplicate check, messages.add_new) or answered
    since with "closed" (the event is remembered). Either way a retry stays silent."""
    return await uow.messages.by_ref(side, ref) is not None or not await uow.events.first_time(platform, event_id, now)


async def _customer_ticket(uow: UnitOfWork, cmd: CustomerPost) -> Ticket | None:
    """The ticket the message is for, locked: a sweep closing it meanwhile must not be
    overwritten by our save."""
    who = cmd.customer
    if cmd.thread_ref:
        return await uow.tickets.by_customer_thread(cmd.thread_ref, lock=True)
    if cmd.ticket_number is not None:
        return await find_ticket(uow, cmd.ticket_number, lock=True)
    identity = await uow.identities.get(who.platform, who.user_id)
    found = the_only_one(await uow.tickets.open_for_account(identity.account_id) if identity else [])
    return await uow.tickets.get_for_update(found.number) if found else None


def _relay(desk: Desk, ticket: Ticket, message: Message, now: datetime) -> list[OutboxRow]:
    """The rows that relay a customer's message to staff; the ticket now waits on staff."""
    # the message first: staff read it before the card is redrawn (rows of a ticket go in order)
    rows = [effect(now, Target.STAFF, "post", ticket, message)]
    if ticket.status is TicketStatus.AWAITING_CUSTOMER:
        deadlines.await_staff(ticket, now, desk.policy)
        rows.append(effect(now, Target.STAFF, "card_update", ticket))
    return rows


async def customer_post(desk: Desk, cmd: CustomerPost) -> Text | None:
    """Store and relay a customer's message. Returns a reply for the customer, if any."""
    now = desk.clock.now()
    who = cmd.customer
    async with desk.uow(early_hand_off=True) as uow:  # a relay: the platform holds the message (bot/ports.py)
        ticket = await _customer_ticket(uow, cmd)
        # never dropped in silence: what is not stored is answered with the reason
        if ticket is None:
            return Text("thread_not_ticket") if cmd.thread_ref else Text("unknown_ticket", {"number": cmd.ticket_number})
        if (ticket.customer_platform, ticket.customer_user_id) != (who.platform, who.user_id):
            # someone else's ticket: in its thread (staff present in Discord) say only that it was not sent
            return Text("thread_not_yours") if cmd.thread_ref else Text("unknown_ticket", {"number": ticket.number})
        if not ticket.is_open:
            if await _seen(uow, "customer", cmd.event_id, who.platform, cmd.event_id, now):
                return None
            await uow.commit()  # remember the event, add nothing to a closed ticket
            return Text("ticket_closed", {"number": ticket.number})
        assert ticket.id is not None
        body, kinds = redact(cmd.body)  # a pasted credential is never stored nor relayed
        message = Message(ticket.id, MessageKind.CUSTOMER, who.user_id, ticket.customer_name, body, now,
                          tuple(cmd.attachments), customer_ref=cmd.event_id)
        if kinds:  # the notices about the secret go first, then the relay
            if await uow.messages.add_new(message) is None:
                return None  # a platform's retry of an event already stored
            await _replace_redacted(uow, ticket, message, kinds, now)
            await emit_all(uow, _relay(desk, ticket, message, now))
        elif await uow.messages.add_new(message, relays=_relay(desk, ticket, message, now)) is None:
            return None  # the same retry: the rows made for it are not written either
        await uow.tickets.save(ticket)  # what changed only: nothing when it already waited on staff
        await tell_if_closed_now(uow, desk, ticket, now)
        await uow.commit()
    return None


async def _staff_ticket(uow: UnitOfWork, desk: Desk, cmd: StaffPost) -> Ticket:
    """The ticket answered, locked (see _customer_ticket), if this staff member may act on it."""
    ticket = None
    if cmd.thread_ref:
        ticket = await uow.tickets.by_staff_thread(cmd.thread_ref, lock=True)
    elif cmd.ticket_number is not None:
        ticket = await find_ticket(uow, cmd.ticket_number, lock=True)
    if ticket is None:
        raise Refusal("no_such_ticket", number="?" if cmd.ticket_number is None else cmd.ticket_number)
    check_may_act(desk.policy, cmd.staff, ticket)
    return ticket


def _answer(desk: Desk, ticket: Ticket, message: Message, now: datetime) -> list[OutboxRow]:
    """The rows that relay a staff answer to the customer; the ticket now waits on the customer."""
    rows = [effect(now, Target.CUSTOMER, "post", ticket, message)]
    card = card_fields(ticket)
    deadlines.await_customer(ticket, now, desk.policy)
    if card_fields(ticket) != card:  # a second answer in a row leaves the card as it was
        rows.append(effect(now, Target.STAFF, "card_update", ticket))
    if desk.policy.dm_on_answer:
        rows.append(effect(now, Target.CUSTOMER, "dm", ticket, text=Text("answer_dm", {"number": ticket.number})))
    if desk.mail_enabled and desk.policy.email_on_answer:
        rows.append(effect(now, Target.EMAIL, "send", ticket, message, to=ticket.customer_email,
                           text=Text("answer_email", {"number": ticket.number, "subject": ticket.subject,
                                                      "author": message.author_name, "body": message.body})))
    return rows


async def staff_post(desk: Desk, cmd: StaffPost) -> Text | None:
    """A staff message in a ticket thread: an answer to relay, or an internal note."""
    now = desk.clock.now()
    note_kind, note_body = classify(cmd.body, desk.policy.note_prefix)
    is_note = note_kind is not NoteKind.ANSWER  # in doubt, internal: a leaked note cannot be taken back
    async with desk.uow(early_hand_off=True) as uow:  # see customer_post
        ticket = await _staff_ticket(uow, desk, cmd)
        if not ticket.is_open:
            if await _seen(uow, "staff", cmd.message_ref, "staff", cmd.event_id, now):
                return None
            await uow.commit()
            return Text("staff_ticket_closed", {"number": ticket.number})
        assert ticket.id is not None
        kind = MessageKind.NOTE if is_note else MessageKind.STAFF
        snippet = None
        if is_note:
            body = note_body
        else:
            body, snippet = snippets.expand(desk.policy, ticket, cmd.body)  # "!cache" alone: a canned answer
        message = Message(ticket.id, kind, cmd.staff.user_id, cmd.staff.display_name, body, now,
                          tuple(cmd.attachments), staff_ref=cmd.message_ref)
        if snippet is not None:  # staff see in their thread what the customer got, then it goes
            if await uow.messages.add_new(message) is None:
                return None  # a platform's retry of an event already stored
            await emit(uow, now, Target.STAFF, "post", ticket, text=Text("snippet_sent_note", {
                "staff": cmd.staff.display_name, "name": snippet, "text": body}))
            await emit_all(uow, _answer(desk, ticket, message, now))
        elif await uow.messages.add_new(message, relays=() if is_note else _answer(desk, ticket, message, now)) is None:
            return None  # the same retry: the rows made for it are not written either
        await uow.tickets.save(ticket)  # what the answer changed: nothing for a note
        await uow.commit()
    if note_kind is NoteKind.DOUBT:
        return Text("note_kept_internal", {"prefix": desk.policy.note_prefix})
    return None


async def edit_message(desk: Desk, cmd: Edit) -> None:
    """Pass an edit or deletion on to the other side, if the message was relayed there."""
    now = desk.clock.now()
    async with desk.uow() as uow:
        message = await uow.messages.by_ref(cmd.side, cmd.message_ref)
        # each side edits only what its own people wrote (not the bot's copies of the other side's)
        authored = {MessageKind.CUSTOMER} if cmd.side == "customer" else {MessageKind.STAFF, MessageKind.NOTE}
        if message is None or message.deleted or message.kind not in authored:
            return
        if not await uow.events.first_time(cmd.side, cmd.event_id, now):
            return
        ticket = await uow.tickets.get(message.ticket_id)
        if ticket is None or not ticket.is_open:
            return
        new_body, kinds = redact(cmd.body) if cmd.body is not None and cmd.side == "customer" else (cmd.body, [])
        if new_body is None:
            message.deleted = True
        elif new_body == message.body:
            return  # a link preview or unfurl, not an edit by a person
        else:
            message.body, message.edited_at = new_body, now
        await uow.messages.save(message)
        if message.kind in (MessageKind.CUSTOMER, MessageKind.STAFF):
            other = Target.STAFF if cmd.side == "customer" else Target.CUSTOMER
            await emit(uow, now, other, "delete" if cmd.body is None else "edit", ticket, message)
        if kinds:  # a secret added by editing: the edited original must go too
            await _replace_redacted(uow, ticket, message, kinds, now)
        await uow.commit()
