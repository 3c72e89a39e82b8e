"""Issue 13: what a relayed message leaves in the database, on SQLite and PostgreSQL. The message
is its own duplicate check; the settle commits without waiting for the disk, and only while its
lease is held: a late one after a takeover writes nothing. On SQLite the relay is handed over
while its commit goes to the disk."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

import pytest

from bot.commands import CustomerPost
from bot.delivery.effects import emit
from bot.delivery.leases import LEASE
from bot.delivery.outbox import Dispatcher
from bot.domain import OutboxStatus, Target, TicketStatus
from bot.tickets.conversation import customer_post
from bot.time.clock import ManualClock
from storage.sqlite_loop import LoopEngine
from supportbot.bootstrap import open_store
from tests.core_helpers import ALICE, OPEN_TIME
from tests.fakes import RecordingPort
from tests.relay_trace import Traced


async def test_a_late_settle_after_another_process_took_the_row_over_records_no_ref(traced: Traced, db_url: str) -> None:
    t = traced
    await customer_post(t.desk, CustomerPost(ALICE, "e1", "hello"))
    [delivery] = t.store.new_rows.take_handed(Target.STAFF, 10)  # in hand here; the heartbeat stalls
    other = await open_store(db_url, migrate=False)
    try:
        clock = ManualClock(OPEN_TIME + LEASE + timedelta(seconds=1))
        staff = RecordingPort("s2")
        taker = Dispatcher(other.uow, clock, {Target.STAFF: staff, Target.CUSTOMER: RecordingPort("c2")},
                           owner="other", new_rows=other.new_rows)
        assert await taker.run_once(everywhere=True) == 1
        assert delivery.item is not None
        await t.dispatcher._settle(delivery.item, delivery.message, "late-ref", None, None, False)
        async with t.store.uow() as uow:
            row = await uow.outbox.get(delivery.item_id)
            message = await uow.messages.get(delivery.message.id if delivery.message and delivery.message.id else 0)
        assert row is not None and row.ref == "s2-1"
        assert message is not None and message.staff_ref == "s2-1"  # the late settle wrote nothing
    finally:
        await other.engine.dispose()


async def test_the_settle_commits_without_waiting_for_the_disk(traced: Traced, monkeypatch: pytest.MonkeyPatch) -> None:
    """A settle undone by a power cut brings its row back as an interrupted delivery (looked up
    before it is sent again): its commit need not wait for the disk. The message's stays durable."""
    t = traced
    sqlite = t.store.engine.dialect.name == "sqlite"
    synced: list[None] = []  # SQLite: the log syncs after a durable commit (storage/sqlite_loop.py)
    sync_log = LoopEngine.sync_log
    monkeypatch.setattr(LoopEngine, "sync_log", lambda self, log: (synced.append(None), sync_log(self, log)))
    await customer_post(t.desk, CustomerPost(ALICE, "e1", "hello"))
    assert not sqlite or len(synced) == 1
    [delivery] = t.store.new_rows.take_handed(Target.STAFF, 10)
    assert delivery.item is not None
    delivery.item.status, delivery.item.ref = OutboxStatus.DELIVERED, "s-9"
    if not sqlite:
        async with t.store.uow() as uow:  # durable by default
            await uow.messages.get(0)
            assert await _synchronous_commit(uow) == "on"
    async with t.store.uow(durable=False) as uow:  # as the dispatcher settles a reacted answer
        assert await uow.outbox.settle(delivery.item, t.dispatcher.owner)
        if not sqlite:
            assert await _synchronous_commit(uow) == "off"
        await uow.commit()
    assert not sqlite or len(synced) == 1
    async with t.store.uow() as uow:
        row = await uow.outbox.get(delivery.item_id)
    assert row is not None and row.status is OutboxStatus.DELIVERED and row.ref == "s-9"


async def _synchronous_commit(uow: Any) -> str:
    db = uow._db  # the unit's own connection, in its transaction
    return str((await db.exec_driver_sql("SELECT current_setting('synchronous_commit')")).scalar_one())


async def test_a_retried_event_is_stored_once_and_stays_silent_after_the_ticket_closed(traced: Traced) -> None:
    """The message is its own duplicate check on an open ticket (its author's ref is unique); on a
    closed one a retry of a message stored before it closed, or of one answered "closed", is silent."""
    t = traced
    async with t.store.uow() as uow:
        [ticket] = await uow.tickets.list_open()
    thread = ticket.customer_thread_ref
    assert await customer_post(t.desk, CustomerPost(ALICE, "m1", "hello", thread_ref=thread)) is None
    assert await customer_post(t.desk, CustomerPost(ALICE, "m1", "hello", thread_ref=thread)) is None
    async with t.store.uow() as uow:
        assert [m.body for m in await uow.messages.for_ticket(ticket.id or 0) if m.customer_ref == "m1"] == ["hello"]
        locked = await uow.tickets.get_for_update(ticket.number)
        assert locked is not None
        locked.status = TicketStatus.CLOSED
        await uow.tickets.save(locked)
        await uow.commit()
    assert await customer_post(t.desk, CustomerPost(ALICE, "m1", "hello", thread_ref=thread)) is None  # stored before
    closed = await customer_post(t.desk, CustomerPost(ALICE, "m2", "again", thread_ref=thread))
    assert closed is not None and closed.key == "ticket_closed"
    assert await customer_post(t.desk, CustomerPost(ALICE, "m2", "again", thread_ref=thread)) is None  # answered once


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # PostgreSQL's commit is durable as it returns
async def test_a_relay_is_handed_over_while_its_commit_goes_to_the_disk_and_other_units_after(
        traced: Traced, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite syncs the log in a thread after the commit is visible: a relayed message's row
    reaches the dispatcher meanwhile (the platform holds the message, were a power cut to undo
    it), the use case returns only once it is on the disk; any other unit hands over after."""
    t = traced
    gate = threading.Event()
    sync_log = LoopEngine.sync_log
    monkeypatch.setattr(LoopEngine, "sync_log", lambda self, log: (gate.wait(5), sync_log(self, log)))

    async def handed_while_syncing(write: Awaitable[Any]) -> bool:
        gate.clear()
        writing = asyncio.ensure_future(write)
        await asyncio.sleep(0.05)
        early = t.store.new_rows.has_handed(Target.STAFF)
        assert not writing.done()  # the sync is held: the commit has not returned
        gate.set()
        await asyncio.wait_for(writing, 5)
        assert t.store.new_rows.take_handed(Target.STAFF, 10)  # handed by now in any case
        return early

    assert await handed_while_syncing(customer_post(t.desk, CustomerPost(ALICE, "e1", "hello")))

    async def card_update() -> None:
        async with t.store.uow() as uow:
            [ticket] = await uow.tickets.list_open()
            await emit(uow, t.desk.clock.now(), Target.STAFF, "card_update", ticket)
            await uow.commit()

    assert not await handed_while_syncing(card_update())
