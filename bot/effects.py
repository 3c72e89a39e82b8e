"""Writing intentions to the outbox, in the caller's transaction (so they commit with the change)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain import AuditEntry, Message, OutboxItem, Target, Ticket
from bot.ports import UnitOfWork
from bot.texts import Text

# Actions, by target. Adapters switch on these names.
# customer: open_thread (ref -> ticket.customer_thread_ref), post, edit, delete, lock, dm
# staff: card (ref -> ticket.staff_thread_ref), card_update, post, edit, delete, react
# email: send


async def emit(
    uow: UnitOfWork,
    now: datetime,
    target: Target,
    action: str,
    ticket: Ticket | None = None,
    message: Message | None = None,
    text: Text | None = None,
    **payload: Any,
) -> None:
    if text is not None:
        payload["text"] = text.as_dict()
    await uow.outbox.add(
        OutboxItem(
            target=target,
            action=action,
            payload=payload,
            created_at=now,
            ticket_id=ticket.id if ticket else None,
            message_id=message.id if message else None,
        )
    )


async def audit(
    uow: UnitOfWork, now: datetime, actor: str, action: str, ticket: Ticket | None = None, **detail: Any
) -> None:
    await uow.audit.add(AuditEntry(at=now, actor=actor, action=action, ticket_id=ticket.id if ticket else None, detail=detail))
