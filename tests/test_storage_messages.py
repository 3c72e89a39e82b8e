"""Messages, outbox, idempotency keys, audit and rollback of storage/, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, timedelta

import pytest

from bot.domain import (
    Attachment,
    AuditEntry,
    Message,
    MessageKind,
    OutboxItem,
    OutboxStatus,
    Target,
    Ticket,
)
from bot.ports import UnitOfWorkFactory
from tests.test_storage import PLUS2, T0, add_ticket, assert_utc, make_account, new_ticket


async def test_messages(uow_factory: UnitOfWorkFactory) -> None:
    ticket = await add_ticket(uow_factory)
    other = await add_ticket(uow_factory)
    assert ticket.id is not None and other.id is not None
    attachments = (Attachment("log.txt", "https://files/x", "text/plain", 12), Attachment("a.png", "u"))
    async with uow_factory() as uow:
        first = await uow.messages.add(
            Message(ticket.id, MessageKind.CUSTOMER, "u1", "Ann", "hello", T0.astimezone(PLUS2), attachments)
        )
        rest = [
            await uow.messages.add(
                Message(ticket.id, MessageKind.STAFF, "U7", "Bob", f"m{i}", T0 + timedelta(minutes=i))
            )
            for i in range(1, 4)
        ]
        await uow.messages.add(Message(other.id, MessageKind.NOTE, "U7", "Bob", "elsewhere", T0))
        await uow.commit()
    assert first.id is not None
    async with uow_factory() as uow:
        assert await uow.messages.get(first.id) == first
        assert await uow.messages.get(999_999) is None
        edited = replace(
            first,
            kind=MessageKind.SYSTEM,
            body="edited",
            customer_ref="d-1",
            staff_ref="1700000000.000200",
            edited_at=T0 + timedelta(hours=1),
            deleted=True,
        )
        await uow.messages.save(edited)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.messages.get(first.id)
        assert stored == edited and stored is not None
        assert stored.attachments == attachments and isinstance(stored.attachments, tuple)
        assert_utc(stored)
        assert await uow.messages.by_ref("customer", "d-1") == edited
        assert await uow.messages.by_ref("staff", "1700000000.000200") == edited
        assert await uow.messages.by_ref("staff", "d-1") is None
        with pytest.raises(ValueError):
            await uow.messages.by_ref("email", "d-1")
        assert await uow.messages.for_ticket(ticket.id) == [edited, *rest]
        assert await uow.messages.for_ticket(ticket.id, limit=2) == rest[1:]


async def test_outbox_round_trip_and_next_due(uow_factory: UnitOfWorkFactory) -> None:
    ticket = await add_ticket(uow_factory)
    assert ticket.id is not None
    async with uow_factory() as uow:
        assert await uow.outbox.next_due_at() is None
        message = await uow.messages.add(Message(ticket.id, MessageKind.CUSTOMER, "u1", "Ann", "hi", T0))
        item = await uow.outbox.add(
            OutboxItem(
                Target.STAFF,
                "post_message",
                {"text": "hi", "n": 1, "nested": {"a": [1, 2]}},
                T0.astimezone(PLUS2),
                ticket_id=ticket.id,
                message_id=message.id,
            )
        )
        await uow.commit()
    assert item.id is not None
    async with uow_factory() as uow:
        assert await uow.outbox.get(item.id) == item
        assert await uow.outbox.get(999_999) is None
        # A pending row that was never tried is due since it was created.
        assert await uow.outbox.next_due_at() == T0
        failed = replace(
            item,
            status=OutboxStatus.DEAD,
            attempts=7,
            next_attempt_at=T0 + timedelta(minutes=5),
            delivered_at=T0 + timedelta(minutes=6),
            ref="1700000000.000300",
            last_error="boom",
            leased_by="host:1:abcd",
            target=Target.EMAIL,
            payload={"to": "x"},
        )
        await uow.outbox.save(failed)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.outbox.get(item.id)
        assert stored == failed and stored is not None
        assert all(getattr(stored, f.name) is not None for f in fields(OutboxItem))
        assert_utc(stored)
        assert await uow.outbox.next_due_at() is None  # dead rows are not pending
        for minutes in (9, 4):
            await uow.outbox.add(
                OutboxItem(Target.CUSTOMER, "x", {}, T0, next_attempt_at=T0 + timedelta(minutes=minutes))
            )
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.outbox.next_due_at() == T0 + timedelta(minutes=4)


async def test_outbox_claim_due_keeps_per_ticket_order(uow_factory: UnitOfWorkFactory) -> None:
    a = await add_ticket(uow_factory)
    b = await add_ticket(uow_factory)
    now = T0 + timedelta(hours=1)

    def row(ticket: Ticket | None, action: str, **kw: object) -> OutboxItem:
        return OutboxItem(Target.STAFF, action, {}, T0, ticket_id=ticket.id if ticket else None, **kw)  # type: ignore[arg-type]

    async with uow_factory() as uow:
        a1 = await uow.outbox.add(row(a, "a1", next_attempt_at=now + timedelta(minutes=1)))  # backing off
        a2 = await uow.outbox.add(row(a, "a2"))
        b0 = await uow.outbox.add(row(b, "b0", status=OutboxStatus.DELIVERED))
        b1 = await uow.outbox.add(row(b, "b1", next_attempt_at=now))
        b2 = await uow.outbox.add(row(b, "b2"))
        free1 = await uow.outbox.add(row(None, "free1"))
        free2 = await uow.outbox.add(row(None, "free2", next_attempt_at=now - timedelta(seconds=1)))
        await uow.outbox.add(row(None, "later", next_attempt_at=now + timedelta(seconds=1)))
        await uow.commit()
    assert b0.id is not None
    async with uow_factory() as uow:
        # a2 waits behind a1 (pending, not yet due); b2 waits behind b1; b0 is done.
        assert [i.action for i in await uow.outbox.claim_due(now)] == ["b1", "free1", "free2"]
        assert [i.action for i in await uow.outbox.claim_due(now, limit=2)] == ["b1", "free1"]
        await uow.outbox.save(replace(b1, status=OutboxStatus.DELIVERED))
        await uow.outbox.save(replace(a1, status=OutboxStatus.DEAD))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.outbox.claim_due(now) == [a2, b2, free1, free2]


async def test_events_and_reminders_are_idempotent_within_a_transaction(
    uow_factory: UnitOfWorkFactory,
) -> None:
    ticket = await add_ticket(uow_factory)
    assert ticket.id is not None
    async with uow_factory() as uow:
        assert await uow.events.first_time("slack", "Ev1", T0) is True
        assert await uow.events.first_time("slack", "Ev1", T0) is False
        assert await uow.events.first_time("discord", "Ev1", T0) is True
        assert await uow.reminders.record(ticket.id, "sla_warn", 1, T0) is True
        assert await uow.reminders.record(ticket.id, "sla_warn", 1, T0) is False
        assert await uow.reminders.record(ticket.id, "sla_warn", 2, T0) is True
        assert await uow.reminders.record(ticket.id, "nudge", 1, T0) is True
        # The duplicates did not break the transaction: it still writes and commits.
        await uow.audit.add(AuditEntry(T0, "system", "checked", ticket.id))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.events.first_time("slack", "Ev1", T0) is False
        assert await uow.reminders.record(ticket.id, "sla_warn", 2, T0) is False
        assert len(await uow.audit.for_ticket(ticket.id)) == 1


async def test_audit(uow_factory: UnitOfWorkFactory) -> None:
    ticket = await add_ticket(uow_factory)
    assert ticket.id is not None
    first = AuditEntry(T0, "U7", "closed", ticket.id, {"reason": "resolved", "n": [1, 2]})
    second = AuditEntry(T0 - timedelta(hours=1), "system", "reopened", ticket.id)
    async with uow_factory() as uow:
        await uow.audit.add(first)
        await uow.audit.add(second)
        await uow.audit.add(AuditEntry(T0, "system", "sweep"))
        await uow.commit()
    async with uow_factory() as uow:
        entries = await uow.audit.for_ticket(ticket.id)
    assert entries == [first, second]  # in insertion order
    assert all(e.at.tzinfo is UTC for e in entries)


async def test_leaving_without_commit_rolls_back(uow_factory: UnitOfWorkFactory) -> None:
    account_id = await make_account(uow_factory)
    async with uow_factory() as uow:
        ticket = await uow.tickets.add(new_ticket(account_id))
        await uow.events.first_time("slack", "E-rolled-back", T0)
    with pytest.raises(RuntimeError):
        async with uow_factory() as uow:
            await uow.outbox.add(OutboxItem(Target.STAFF, "x", {}, T0))
            raise RuntimeError("use case failed")
    async with uow_factory() as uow:
        await uow.accounts.get_or_create("rolled@example.com")
        await uow.rollback()
        await uow.commit()  # nothing left to commit
    async with uow_factory() as uow:
        assert ticket.id is not None and await uow.tickets.get(ticket.id) is None
        assert await uow.outbox.next_due_at() is None
        assert await uow.events.first_time("slack", "E-rolled-back", T0) is True
        assert await uow.tickets.list_open() == []
        assert (await uow.accounts.get_or_create("rolled@example.com")).id != account_id
