"""Writing intentions to the outbox, in the caller's transaction (so they commit with the change)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.domain import AuditEntry, Message, OutboxItem, Target, Ticket
from bot.ports import UnitOfWork
from bot.repositories import OutboxRow
from bot.texts import Text

# The outbox contract. A delivery port receives bot.ports.Delivery(action, payload, ticket,
# message): `ticket` and `message` are loaded when the row is leased, after every older row of
# the same ticket and target was delivered, so refs those rows set are there. A payload's "text"
# is a bot.texts.Text dict: render it with bot.texts.render(Text.from_dict(...), ticket.locale).
# Otherwise `message` carries the content (author_name, body, attachments). A port returns the
# platform id of what it created; the dispatcher keeps only the ids noted with "->" below.
#
# Target.CUSTOMER (Discord, console):
#   open_thread  create the ticket's private thread, post payload text (the summary) with a
#                Close button; return the thread id -> ticket.customer_thread_ref
#   post         post in the ticket thread: payload text (payload may ask for a button:
#                "close_button" Close ticket, "access_form" the temporary-access form), or
#                `message` (a staff answer, shown under message.author_name, with its files);
#                return the posted message id -> message.customer_ref
#   edit/delete  edit/delete message.customer_ref (message.body is the new text)
#   lock         archive and lock the ticket thread
#   dm           direct message to ticket.customer_user_id: payload text
#   transcript   the customer's copy of the ticket's transcript (no internal notes) as a file in
#                the ticket thread; payload "format" html|md (bot/reporting/transcripts.py)
#   dm_user      (no ticket) direct message to payload "user_id" on payload "platform", in
#                payload "locale": payload text (e.g. another identity linked to their account)
# Target.STAFF (Slack, console):
#   card         post the ticket card in ticket.staff_channel; return its id
#                -> ticket.staff_thread_ref (the card's message is the ticket's thread)
#   card_update  re-render the card from `ticket` in place
#                (cards list every identity linked to the ticket's account: bot.customers.accounts.linked_identities)
#   post         post in the ticket's thread: payload text (a system notice; payload may carry
#                "mention": user or group ids or "channel:NAME", space-separated), or `message`
#                (customer message, with attachments to re-upload); return its id -> message.staff_ref
#   edit/delete  edit/delete message.staff_ref
#   react        add payload "name" (and remove payload "remove", if any) as a reaction on
#                message.staff_ref (no ticket): tells staff their answer was delivered / is
#                being retried
#   transcript   the whole transcript (internal notes marked) as a file in the ticket's thread
#   report       (no ticket) the SLA report of payload "since"-"until" (ISO instants) as a chart into
#                payload "channel" (a name from the policy: with the summary) or "channel_id"
#                (where /tickets report was asked: the chart only, naming "requested_by")
# Target.EMAIL:
#   send         payload "to" and text (first line "Subject: ...", then the body); returns the
#                e-mail's Message-ID


def card_fields(ticket: Ticket) -> tuple[Any, ...]:
    """What a ticket's card shows that a conversation can change: a card_update is worth a
    platform call only when one of these did (bot/tickets/conversation.py)."""
    return (ticket.status, ticket.assignee, ticket.sla_due_at, ticket.overdue_since, ticket.close_reason,
            ticket.licence_expires_at, ticket.subject, ticket.product)


def effect(
    now: datetime,
    target: Target,
    action: str,
    ticket: Ticket | None = None,
    message: Message | None = None,
    text: Text | None = None,
    **payload: Any,
) -> OutboxRow:
    """An outbox row, with what a delivery needs if it is handed to this process's dispatcher."""
    if text is not None:
        payload["text"] = text.as_dict()
    item = OutboxItem(target=target, action=action, payload=payload, created_at=now,
                      ticket_id=ticket.id if ticket else None, message_id=message.id if message else None)
    return item, ticket, message


def tie(message: Message, rows: Sequence[OutboxRow]) -> None:
    """Rows made for `message` before it was stored (its id was None) take the id it has now."""
    for item, _, relayed in rows:
        if relayed is message:
            item.message_id = message.id


async def emit(uow: UnitOfWork, now: datetime, target: Target, action: str, ticket: Ticket | None = None,
               message: Message | None = None, text: Text | None = None, **payload: Any) -> None:
    await uow.outbox.add(*effect(now, target, action, ticket, message, text, **payload))


async def emit_all(uow: UnitOfWork, effects: list[OutboxRow]) -> None:
    """Several rows of a use case in one statement (a relay and the card update it causes)."""
    await uow.outbox.add_all(effects)


async def audit(
    uow: UnitOfWork, now: datetime, actor: str, action: str, ticket: Ticket | None = None, **detail: Any
) -> None:
    await uow.audit.add(AuditEntry(at=now, actor=actor, action=action, ticket_id=ticket.id if ticket else None, detail=detail))
