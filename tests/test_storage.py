"""Accounts, identities, licences and tickets of storage/, on SQLite and PostgreSQL; shared helpers."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.domain import (
    CloseReason,
    Identity,
    Licence,
    Ticket,
    TicketStatus,
)
from bot.ports import UnitOfWorkFactory
from storage.models import tickets as tickets_table

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
PLUS2 = timezone(timedelta(hours=2))


def new_ticket(account_id: int, **overrides: object) -> Ticket:
    ticket = Ticket(
        account_id=account_id,
        customer_platform="discord",
        customer_user_id="u1",
        customer_name="Ann",
        customer_email="ann@example.com",
        product="Search",
        subject="Broken",
        magento_version="2.4.7",
        module_version="1.2.3",
        description="desc",
        steps="steps",
        changes="none",
        errors="trace",
        opened_at=T0,
        licence_expires_at=T0 + timedelta(days=300),
        staff_channel="C1",
    )
    return replace(ticket, **overrides)  # type: ignore[arg-type]


def assert_utc(obj: object) -> None:
    for f in fields(obj):  # type: ignore[arg-type]
        value = getattr(obj, f.name)
        if isinstance(value, datetime):
            assert value.tzinfo is UTC, f.name


async def make_account(uow_factory: UnitOfWorkFactory, email: str = "ann@example.com") -> int:
    async with uow_factory() as uow:
        account = await uow.accounts.get_or_create(email)
        await uow.commit()
    assert account.id is not None
    return account.id


async def add_ticket(uow_factory: UnitOfWorkFactory, **overrides: object) -> Ticket:
    account_id = await make_account(uow_factory)
    async with uow_factory() as uow:
        ticket = await uow.tickets.add(new_ticket(account_id, **overrides))
        await uow.commit()
    return ticket


def test_ticket_table_has_a_column_for_every_field() -> None:
    assert {f.name for f in fields(Ticket)} == set(tickets_table.c.keys())


async def test_accounts(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        a = await uow.accounts.get_or_create("a@example.com")
        again = await uow.accounts.get_or_create("a@example.com")
        b = await uow.accounts.get_or_create("b@example.com")
        await uow.commit()
    assert a.id is not None and again == a and b.id != a.id
    async with uow_factory() as uow:
        assert await uow.accounts.get(a.id) == a
        assert await uow.accounts.get(999_999) is None


async def test_identities_upsert(uow_factory: UnitOfWorkFactory) -> None:
    first = await make_account(uow_factory, "a@example.com")
    second = await make_account(uow_factory, "b@example.com")
    identity = Identity("discord", "42", first, "Ann", "de", T0.astimezone(PLUS2))
    async with uow_factory() as uow:
        assert await uow.identities.get("discord", "42") is None
        await uow.identities.save(identity)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.identities.get("discord", "42")
        assert stored == identity
        assert stored is not None and stored.linked_at is not None and stored.linked_at.tzinfo is UTC
        await uow.identities.save(Identity("discord", "42", second, "Annie", "fr", None))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.identities.get("discord", "42") == Identity("discord", "42", second, "Annie", "fr")
        assert await uow.identities.get("slack", "42") is None


async def test_link_attempts_since(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        for minutes in (30, 10, 20):
            await uow.link_attempts.add("discord", "42", T0 + timedelta(minutes=minutes))
        await uow.link_attempts.add("discord", "43", T0 + timedelta(minutes=25))
        await uow.commit()
    async with uow_factory() as uow:
        got = await uow.link_attempts.since("discord", "42", T0 + timedelta(minutes=20))
    assert got == [T0 + timedelta(minutes=20), T0 + timedelta(minutes=30)]
    assert all(t.tzinfo is UTC for t in got)


async def test_licences(uow_factory: UnitOfWorkFactory) -> None:
    old = Licence("K-1", "a@example.com", "Search", T0)
    later = Licence("K-2", "a@example.com", "Filter", T0 + timedelta(days=1))
    async with uow_factory() as uow:
        await uow.licences.upsert(later)
        await uow.licences.upsert(old)
        await uow.licences.upsert(Licence("K-3", "b@example.com", "Search", T0))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.licences.get("K-1") == old
        assert await uow.licences.get("nope") is None
        assert await uow.licences.for_email("a@example.com") == [old, later]
        renewed = Licence("K-1", "c@example.com", "Search Pro", T0 + timedelta(days=365))
        await uow.licences.upsert(renewed)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.licences.get("K-1") == renewed
        assert await uow.licences.for_email("a@example.com") == [later]


async def test_ticket_round_trips_every_field(uow_factory: UnitOfWorkFactory) -> None:
    account_id = await make_account(uow_factory)
    times = [T0.astimezone(PLUS2) + timedelta(hours=h, microseconds=h) for h in range(1, 12)]
    ticket = new_ticket(account_id, locale="de", period=3, assignee="U7")
    async with uow_factory() as uow:
        added = await uow.tickets.add(ticket)
        await uow.commit()
    assert added is ticket and ticket.id is not None and ticket.number == ticket.id
    full = replace(
        ticket,
        subject="Now different",
        status=TicketStatus.CLOSED,
        waiting_since=times[0],
        first_response_at=times[1],
        first_response_work_s=3600.0,
        sla_warn_at=times[3],
        sla_due_at=times[4],
        nudge_at=times[5],
        autoclose_warn_at=times[6],
        autoclose_at=times[7],
        overdue_since=times[9],
        licence_check_at=times[10],
        closed_at=times[8],
        close_reason=CloseReason.MAGENTO_NATIVE,
        closed_by="U9",
        customer_thread_ref="thread-c",
        staff_thread_ref="C1/1700000000.000100",
    )
    assert all(getattr(full, f.name) is not None for f in fields(Ticket))
    async with uow_factory() as uow:
        assert await uow.tickets.get(ticket.id) == ticket
        await uow.tickets.save(full)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.tickets.get(ticket.id)
        locked = await uow.tickets.get_for_update(ticket.id)
        assert await uow.tickets.get(999_999) is None
    assert stored == full and locked == full
    assert stored is not None and stored.status is TicketStatus.CLOSED
    assert stored.close_reason is CloseReason.MAGENTO_NATIVE
    assert_utc(stored)


async def test_naive_datetimes_are_refused(uow_factory: UnitOfWorkFactory) -> None:
    account_id = await make_account(uow_factory)
    async with uow_factory() as uow:
        with pytest.raises(Exception, match="naive"):
            await uow.tickets.add(new_ticket(account_id, opened_at=datetime(2025, 1, 1)))


async def test_ticket_queries(uow_factory: UnitOfWorkFactory) -> None:
    mine = await make_account(uow_factory, "a@example.com")
    other = await make_account(uow_factory, "b@example.com")
    async with uow_factory() as uow:
        t1 = await uow.tickets.add(
            new_ticket(mine, opened_at=T0, customer_thread_ref="c1", staff_thread_ref="s1")
        )
        t2 = await uow.tickets.add(
            new_ticket(
                mine,
                opened_at=T0 + timedelta(days=1),
                status=TicketStatus.CLOSED,
                closed_at=T0 + timedelta(days=2),
                close_reason=CloseReason.RESOLVED,
            )
        )
        t3 = await uow.tickets.add(
            new_ticket(mine, opened_at=T0 + timedelta(days=2), status=TicketStatus.AWAITING_CUSTOMER)
        )
        t4 = await uow.tickets.add(new_ticket(other, opened_at=T0 + timedelta(days=3)))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.tickets.open_for_account(mine) == [t1, t3]
        assert await uow.tickets.for_account(mine) == [t3, t2, t1]
        assert await uow.tickets.for_account(mine, limit=2) == [t3, t2]
        assert await uow.tickets.by_customer_thread("c1") == t1
        assert await uow.tickets.by_staff_thread("s1") == t1
        assert await uow.tickets.by_staff_thread("c1") is None
        assert await uow.tickets.list_open() == [t1, t3, t4]
        assert await uow.tickets.opened_between(T0 + timedelta(days=1), T0 + timedelta(days=3)) == [t2, t3]
        assert await uow.tickets.closed_between(T0, T0 + timedelta(days=2)) == []
        assert await uow.tickets.closed_between(T0, T0 + timedelta(days=2, seconds=1)) == [t2]


async def test_claim_due_takes_open_due_tickets_in_deadline_order(uow_factory: UnitOfWorkFactory) -> None:
    account_id = await make_account(uow_factory)
    now = T0 + timedelta(days=1)
    async with uow_factory() as uow:
        late = await uow.tickets.add(new_ticket(account_id, sla_due_at=now - timedelta(hours=1)))
        exact = await uow.tickets.add(new_ticket(account_id, sla_due_at=now))
        earliest = await uow.tickets.add(new_ticket(account_id, sla_due_at=now - timedelta(hours=5)))
        await uow.tickets.add(new_ticket(account_id, sla_due_at=now + timedelta(seconds=1)))  # not yet
        await uow.tickets.add(new_ticket(account_id))  # not armed
        await uow.tickets.add(
            new_ticket(account_id, sla_due_at=now - timedelta(days=1), status=TicketStatus.CLOSED)
        )
        nudged = await uow.tickets.add(new_ticket(account_id, nudge_at=now - timedelta(minutes=1)))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.tickets.claim_due("sla_due_at", now) == [earliest, late, exact]
        assert await uow.tickets.claim_due("sla_due_at", now, limit=2) == [earliest, late]
        assert await uow.tickets.claim_due("nudge_at", now) == [nudged]
        for column in ("sla_warn_at", "autoclose_warn_at", "autoclose_at"):
            assert await uow.tickets.claim_due(column, now) == []
        with pytest.raises(ValueError):
            await uow.tickets.claim_due("opened_at; DROP TABLE tickets", now)
