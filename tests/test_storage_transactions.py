"""Transactions of storage/ under concurrency, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain import OutboxItem, Target
from bot.ports import UnitOfWorkFactory
from storage.engine import make_connection_factory
from storage.uow import SqlUnitOfWork, sql_uow_factory
from tests.test_storage import T0, add_ticket, make_account, new_ticket

NOW = T0 + timedelta(days=1)


async def add_due_tickets(uow_factory: UnitOfWorkFactory, n: int) -> list[int]:
    account_id = await make_account(uow_factory)
    async with uow_factory() as uow:
        ids = [
            (await uow.tickets.add(new_ticket(account_id, sla_due_at=NOW - timedelta(minutes=i)))).number
            for i in range(n)
        ]
        await uow.commit()
    return ids


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_skip_locked_gives_a_second_sweeper_the_other_rows_at_once(
    uow_factory: UnitOfWorkFactory,
) -> None:
    ids = await add_due_tickets(uow_factory, 4)
    async with uow_factory() as first:
        taken_first = {t.number for t in await first.tickets.claim_due("sla_due_at", NOW, limit=2)}
        async with uow_factory() as second:
            # Must not wait for `first`, which still holds its rows.
            claimed = await asyncio.wait_for(second.tickets.claim_due("sla_due_at", NOW), timeout=5)
            taken_second = {t.number for t in claimed}
        await first.commit()
    assert len(taken_first) == 2
    assert taken_first.isdisjoint(taken_second)
    assert taken_first | taken_second == set(ids)


async def test_concurrent_sweepers_never_claim_the_same_ticket(uow_factory: UnitOfWorkFactory) -> None:
    ids = await add_due_tickets(uow_factory, 6)
    claimed: list[int] = []

    async def sweeper() -> None:
        while True:
            async with uow_factory() as uow:
                due = await uow.tickets.claim_due("sla_due_at", NOW, limit=2)
                if not due:
                    return
                for ticket in due:
                    ticket.sla_due_at = None  # disarm, as the sweep job does
                    await uow.tickets.save(ticket)
                    claimed.append(ticket.number)
                await asyncio.sleep(0.05)  # hold the claim while the other sweeper runs
                await uow.commit()

    await asyncio.wait_for(asyncio.gather(sweeper(), sweeper()), timeout=30)
    assert sorted(claimed) == sorted(ids)


async def test_first_time_waits_for_a_concurrent_transaction_then_says_no(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async def second_delivery() -> bool:
        async with uow_factory() as uow:
            seen = await uow.events.first_time("slack", "Ev1", T0)
            await uow.commit()
            return seen

    async with uow_factory() as first:
        assert await first.events.first_time("slack", "Ev1", T0) is True
        racer = asyncio.create_task(second_delivery())
        await asyncio.sleep(0.3)
        assert not racer.done()  # blocked behind the uncommitted insert (or write lock)
        await first.commit()
    assert await asyncio.wait_for(racer, timeout=10) is False


async def test_racing_events_and_reminders_get_exactly_one_yes(uow_factory: UnitOfWorkFactory) -> None:
    ticket = await add_ticket(uow_factory)

    async def deliver() -> tuple[bool, bool]:
        async with uow_factory() as uow:
            seen = await uow.events.first_time("discord", "Ev2", T0)
            reminded = await uow.reminders.record(ticket.number, "nudge", 2, T0)
            await uow.commit()
            return seen, reminded

    results = await asyncio.wait_for(asyncio.gather(*(deliver() for _ in range(10))), timeout=30)
    assert sum(seen for seen, _ in results) == 1
    assert sum(reminded for _, reminded in results) == 1


async def test_concurrent_read_modify_write_loses_no_update(uow_factory: UnitOfWorkFactory) -> None:
    ticket = await add_ticket(uow_factory)

    async def bump() -> None:
        async with uow_factory() as uow:
            current = await uow.tickets.get_for_update(ticket.number)
            assert current is not None
            await asyncio.sleep(0)  # let the others interleave between read and write
            current.period += 1
            await uow.tickets.save(current)
            await uow.commit()

    await asyncio.wait_for(asyncio.gather(*(bump() for _ in range(20))), timeout=60)
    async with uow_factory() as uow:
        stored = await uow.tickets.get(ticket.number)
    assert stored is not None and stored.period == ticket.period + 20


async def test_on_commit_runs_after_a_commit_that_added_outbox_rows_only(db_engine: AsyncEngine) -> None:
    """The hook wakes the dispatcher: only for commits that gave it rows, naming their targets
    (its own lease and settle commits, and any other commit, wake nobody)."""
    commits: list[set[Target]] = []
    factory = sql_uow_factory(make_connection_factory(db_engine), on_commit=commits.append)
    now = datetime.now(UTC)
    async with factory() as uow:
        await uow.outbox.add(OutboxItem(Target.STAFF, "report", {}, now))
    assert commits == []  # rolled back
    async with factory() as uow:
        await uow.accounts.get_or_create("a@example.com")
        await uow.commit()
    assert commits == []  # committed, but no outbox row
    async with factory() as uow:
        await uow.outbox.add(OutboxItem(Target.STAFF, "report", {}, now))
        await uow.outbox.add(OutboxItem(Target.EMAIL, "send", {}, now))
        await uow.commit()
        await uow.accounts.get_or_create("b@example.com")
        await uow.commit()  # a second commit in the same unit: its rows were signalled already
    assert commits == [{Target.STAFF, Target.EMAIL}]
    assert isinstance(factory(), SqlUnitOfWork)


async def test_repositories_need_an_open_unit_of_work(uow_factory: UnitOfWorkFactory) -> None:
    uow = uow_factory()
    with pytest.raises(RuntimeError):
        await uow.commit()
