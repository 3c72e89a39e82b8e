"""A customer's data, for the operator: what we hold on them, and erasing it.

Erasing keeps each ticket's row for the statistics (product, status, dates, first answer, close
reason) and removes what identifies the customer or what they wrote: the e-mail, chat identities,
names, message texts and attachment references, their licences, their temporary access, the
outbox payloads that carried texts, and their id in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.models import (
    access_grants,
    accounts,
    audit_log,
    identities,
    licences,
    link_attempts,
    messages,
    outbox,
    tickets,
)

ERASED_ACTOR = "customer:forgotten"
ERASED_SUBJECT = "[erased]"


@dataclass
class CustomerRecord:
    email: str
    account_id: int
    identities: list[dict[str, Any]] = field(default_factory=list)
    tickets: list[dict[str, Any]] = field(default_factory=list)
    licences: list[dict[str, Any]] = field(default_factory=list)

    @property
    def open_tickets(self) -> list[int]:
        return [t["id"] for t in self.tickets if t["status"] != "closed"]


async def find_customer(engine: AsyncEngine, email: str) -> CustomerRecord | None:
    email = email.strip().lower()
    async with engine.connect() as conn:
        account = (await conn.execute(select(accounts).where(func.lower(accounts.c.email) == email))).first()
        if account is None:
            return None
        record = CustomerRecord(account.email, account.id)
        query = select(identities.c.platform, identities.c.user_id, identities.c.display_name,
                       identities.c.linked_at).where(identities.c.account_id == account.id)
        record.identities = [dict(r._mapping) for r in await conn.execute(query)]
        query = (select(tickets.c.id, tickets.c.product, tickets.c.subject, tickets.c.status, tickets.c.opened_at,
                        tickets.c.closed_at).where(tickets.c.account_id == account.id).order_by(tickets.c.id))
        record.tickets = [dict(r._mapping) for r in await conn.execute(query)]
        query = select(licences.c.key, licences.c.product, licences.c.expires_at).where(
            func.lower(licences.c.email) == email)
        record.licences = [dict(r._mapping) for r in await conn.execute(query)]
        return record


async def _erase_ticket_texts(conn: AsyncConnection, ticket_ids: list[int]) -> None:
    """Message texts and attachments, and the outbox rows that carried them (delivered: payload
    emptied; waiting: dropped, except the text-free ones such as a card update or a thread lock)."""
    if not ticket_ids:
        return
    await conn.execute(update(messages).where(messages.c.ticket_id.in_(ticket_ids))
                       .values(body="", attachments=[]))
    await conn.execute(delete(outbox).where(outbox.c.ticket_id.in_(ticket_ids), outbox.c.status != "delivered",
                                            outbox.c.message_id.is_not(None)))
    waiting = (await conn.execute(select(outbox.c.id, outbox.c.payload).where(
        outbox.c.ticket_id.in_(ticket_ids), outbox.c.status != "delivered"))).all()
    carrying = [row.id for row in waiting if row.payload]
    if carrying:
        await conn.execute(delete(outbox).where(outbox.c.id.in_(carrying)))
    await conn.execute(update(outbox).where(outbox.c.ticket_id.in_(ticket_ids), outbox.c.status == "delivered")
                       .values(payload={}, last_error=None))


async def forget_customer(engine: AsyncEngine, record: CustomerRecord, now: datetime) -> dict[str, int]:
    """Erase everything `record` names, in one transaction; returns counts for the audit entry."""
    ticket_ids = [t["id"] for t in record.tickets]
    actors = [f"{i['platform']}:{i['user_id']}" for i in record.identities]
    user_ids = [i["user_id"] for i in record.identities]
    async with engine.begin() as conn:
        await _erase_ticket_texts(conn, ticket_ids)
        if ticket_ids:
            await conn.execute(update(messages).where(messages.c.ticket_id.in_(ticket_ids),
                                                      messages.c.kind == "customer")
                               .values(author_id="", author_name=""))
            await conn.execute(update(tickets).where(tickets.c.id.in_(ticket_ids)).values(
                customer_user_id="", customer_name="", customer_email="", subject=ERASED_SUBJECT,
                description="", steps="", changes="", errors=""))
            await conn.execute(delete(access_grants).where(access_grants.c.ticket_id.in_(ticket_ids)))
        # texts the customer's id or e-mail reached outside their tickets (e.g. a DM)
        needles = [record.email, *user_ids]
        payload_text = cast(outbox.c.payload, String)
        await conn.execute(update(outbox).where(or_(*(payload_text.contains(n) for n in needles)))
                           .values(payload={}, last_error=None))
        for entry in (await conn.execute(select(audit_log.c.id, audit_log.c.actor, audit_log.c.detail).where(
                or_(audit_log.c.actor.in_(actors), audit_log.c.ticket_id.in_(ticket_ids),
                    cast(audit_log.c.detail, String).contains(record.email))))).all():
            detail = {k: v for k, v in (entry.detail or {}).items() if record.email not in str(v)}
            actor = ERASED_ACTOR if entry.actor in actors else entry.actor
            await conn.execute(update(audit_log).where(audit_log.c.id == entry.id).values(actor=actor, detail=detail))
        if user_ids:
            await conn.execute(delete(link_attempts).where(link_attempts.c.user_id.in_(user_ids)))
        await conn.execute(delete(identities).where(identities.c.account_id == record.account_id))
        await conn.execute(delete(licences).where(func.lower(licences.c.email) == record.email.lower()))
        # the row stays (tickets point to it) under a placeholder that is unique and says nothing
        await conn.execute(update(accounts).where(accounts.c.id == record.account_id)
                           .values(email=f"forgotten-{record.account_id}@invalid"))
        counts = {"tickets": len(ticket_ids), "identities": len(user_ids), "licences": len(record.licences)}
        await conn.execute(audit_log.insert().values(at=now, actor="operator", action="customer_forgotten",
                                                     ticket_id=None, detail=counts))
    return counts


async def unlink_identity(engine: AsyncEngine, platform: str, user_id: str) -> bool:
    """Detach a chat identity from its account (it must link again to open tickets)."""
    async with engine.begin() as conn:
        result = await conn.execute(delete(identities).where(identities.c.platform == platform,
                                                             identities.c.user_id == user_id))
        return bool(result.rowcount)


async def erase_closed_texts(engine: AsyncEngine, closed_before: datetime, batch: int = 500) -> int:
    """Retention: the texts of tickets closed before `closed_before`, in short transactions of
    `batch` tickets (the bot keeps writing meanwhile); returns how many tickets were erased."""
    erased = 0
    while True:
        async with engine.begin() as conn:
            ids = [r.id for r in await conn.execute(select(tickets.c.id).where(
                tickets.c.status == "closed", tickets.c.closed_at < closed_before,
                tickets.c.subject != ERASED_SUBJECT).order_by(tickets.c.id).limit(batch))]
            if not ids:
                return erased
            await _erase_ticket_texts(conn, ids)
            await conn.execute(update(tickets).where(tickets.c.id.in_(ids)).values(
                subject=ERASED_SUBJECT, description="", steps="", changes="", errors=""))
            erased += len(ids)
