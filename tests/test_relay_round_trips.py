"""Issue 13: the relay path in as few round trips as it needs, on SQLite and PostgreSQL. A
customer message is one transaction to store (message, outbox row written leased to this
process's dispatcher, the ticket's changed columns only) and one to settle: the row is handed
over in memory, no lease; a row behind a pending one of its ticket waits for a lease, in order;
a pass leases only the platforms that got such rows; the dispatcher's own commits wake nobody;
a handed row whose process died is delivered by another once its lease runs out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from bot.commands import CustomerPost
from bot.customers.accounts import link_account
from bot.customers.licences import StoredLicences
from bot.delivery import lanes
from bot.delivery.effects import emit
from bot.delivery.leases import LEASE
from bot.delivery.outbox import Dispatcher
from bot.desk import Desk
from bot.domain import OutboxStatus, Target, TicketStatus
from bot.ports import Delivery, RetryLater
from bot.texts import Text
from bot.tickets.conversation import customer_post
from bot.tickets.opening import open_ticket
from bot.time.clock import ManualClock
from storage.engine import statement_engines
from supportbot.bootstrap import Store, open_store
from tests.core_helpers import ALICE, OPEN_TIME, form, link, make_policy
from tests.fakes import RecordingPort
from tests.test_timers_storage import LICENCES, import_licences


@dataclass
class Traced:
    store: Store
    desk: Desk
    dispatcher: Dispatcher
    staff: RecordingPort
    customer: RecordingPort
    statements: list[str] = field(default_factory=list)
    transactions: int = 0

    def reset(self) -> None:
        self.statements.clear()
        self.transactions = 0


@pytest.fixture
async def traced(db_url: str) -> AsyncIterator[Traced]:
    store = await open_store(db_url, migrate=False)
    try:
        await import_licences(store.uow, *LICENCES)
        desk = Desk(store.uow, ManualClock(OPEN_TIME), make_policy(), StoredLicences(store.uow))
        await link_account(desk, link())
        await open_ticket(desk, form())
        staff, customer = RecordingPort("s"), RecordingPort("c")
        dispatcher = Dispatcher(store.uow, desk.clock, {Target.STAFF: staff, Target.CUSTOMER: customer},
                                wake=store.wake, new_rows=store.new_rows)
        await dispatcher.run_once(everywhere=True)  # the card and the customer's thread
        t = Traced(store, desk, dispatcher, staff, customer)

        def _statement(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            t.statements.append(" ".join(statement.split()))

        def _begin(*_: Any) -> None:
            t.transactions += 1

        for engine in statement_engines(store.engine):
            event.listen(engine, "before_cursor_execute", _statement)
            event.listen(engine, "begin", _begin)

        yield t
    finally:
        await store.engine.dispose()


def writes(t: Traced, table: str) -> list[str]:
    return [s for s in t.statements if s.startswith(f"UPDATE {table} ")]


async def test_a_customer_message_is_stored_and_settled_in_two_transactions(traced: Traced) -> None:
    t = traced
    t.store.wake.clear()
    t.reset()
    await customer_post(t.desk, CustomerPost(ALICE, "e1", "still broken"))
    assert t.store.wake.is_set()  # the new row wakes the dispatcher
    t.store.wake.clear()
    assert await t.dispatcher.run_once() == 1
    [delivered] = [d for d in t.staff.delivered if d.message]
    assert delivered.message.body == "still broken" and delivered.ticket is not None
    assert delivered.ticket.status is TicketStatus.AWAITING_STAFF  # the ticket as committed
    # store (message + outbox row leased as written), settle: no lease, no claim
    assert t.transactions == 2, "\n".join(s[:90] for s in t.statements)
    assert not [s for s in t.statements if s.startswith("SELECT outbox.")]
    assert not t.store.wake.is_set()  # the settle's commit woke nobody
    # narrow writes: nothing of the ticket, which already waited on staff; the outbox row's
    # delivery state, no payload
    assert writes(t, "tickets") == []
    [settle] = writes(t, "outbox")
    assert "payload" not in settle and "outbox.leased_by =" in settle  # only while the lease is ours
    # found through the customer's account (identity, open tickets), PostgreSQL reading the ticket
    # again to lock it; the message its own duplicate check (no processed event); the settle one
    # statement (the post's ref goes on its message by a trigger)
    assert not [s for s in t.statements if "processed_events" in s]
    assert len(t.statements) == (5 if t.store.engine.dialect.name == "sqlite" else 6)
    async with t.store.uow() as uow:
        stored = await uow.messages.get(delivered.message.id or 0)
    assert stored is not None and stored.staff_ref == "s-2"  # the port's ref, on the message
    # on SQLite (BEGIN IMMEDIATE) the ticket read once is not read again to lock it
    ticket_reads = [s for s in t.statements if s.startswith("SELECT tickets.")]
    assert len(ticket_reads) == (1 if t.store.engine.dialect.name == "sqlite" else 2)
    async with t.store.uow() as uow:
        row = await uow.outbox.get(delivered.item_id)
    assert row is not None and row.status is OutboxStatus.DELIVERED and row.attempts == 1 and row.leased_by is None


async def test_messages_waiting_behind_one_another_all_go_in_one_pass(traced: Traced) -> None:
    t = traced
    for i in range(3):
        await customer_post(t.desk, CustomerPost(ALICE, f"e{i}", f"part {i}"))
    t.reset()
    assert await t.dispatcher.run_once() == 3
    assert [d.message.body for d in t.staff.delivered if d.message] == ["part 0", "part 1", "part 2"]
    # each written behind rows in this process's hands only: all three handed over, in order;
    # three settles and no lease
    assert t.transactions == 3


async def test_rows_handed_over_behind_one_that_failed_wait_for_its_retry(traced: Traced) -> None:
    t = traced
    t.staff.fail_next = [RetryLater("slack is down")]
    for i in range(3):
        await customer_post(t.desk, CustomerPost(ALICE, f"e{i}", f"part {i}"))
    assert await t.dispatcher.run_once() == 3  # the first attempted and failed; the others went back
    assert not [d for d in t.staff.delivered if d.message]  # nothing overtook the first
    async with t.store.uow() as uow:
        assert await uow.outbox.claim_due(t.desk.clock.now()) == []  # all wait for the retry
    await customer_post(t.desk, CustomerPost(ALICE, "e3", "part 3"))  # behind a retrying row: not handed
    assert not t.store.new_rows.has_handed()
    t.desk.clock.advance(timedelta(minutes=1))
    assert await t.dispatcher.run_once(everywhere=True) == 4
    assert [d.message.body for d in t.staff.delivered if d.message] == [f"part {i}" for i in range(4)]


async def test_a_stopping_dispatcher_is_handed_nothing(traced: Traced) -> None:
    t = traced
    t.dispatcher.stop()
    await customer_post(t.desk, CustomerPost(ALICE, "e1", "after the stop"))
    async with t.store.uow() as uow:
        [row] = await uow.outbox.claim_due(t.desk.clock.now())
    assert row.leased_by is None and row.attempts == 0  # waits for whichever dispatcher leases it
    assert not t.store.new_rows.has_handed()


async def test_a_handed_row_of_a_process_that_died_goes_out_when_its_lease_ends(traced: Traced, db_url: str) -> None:
    t = traced
    await customer_post(t.desk, CustomerPost(ALICE, "e1", "in flight"))  # handed, never delivered
    other = await open_store(db_url, migrate=False)  # another process: its own memory
    try:
        clock = ManualClock(OPEN_TIME)
        staff = RecordingPort("s2")
        dispatcher = Dispatcher(other.uow, clock, {Target.STAFF: staff, Target.CUSTOMER: RecordingPort("c2")},
                                owner="other", new_rows=other.new_rows)
        assert await dispatcher.run_once(everywhere=True) == 0  # leased to the first process
        clock.advance(LEASE + timedelta(seconds=1))
        assert await dispatcher.run_once(everywhere=True) == 1
        [delivery] = staff.delivered
        assert delivery.message is not None and delivery.message.body == "in flight"
        assert delivery.interrupted  # the port looks whether it went out before sending it again
    finally:
        await other.engine.dispose()


async def test_without_a_hint_a_pass_looks_at_every_platform(traced: Traced) -> None:
    t = traced
    await customer_post(t.desk, CustomerPost(ALICE, "e1", "hello"))
    t.store.new_rows.take()  # as if the commit's hint were lost: e.g. a retry that came due by time
    assert await t.dispatcher.run_once() == 1
    t.store.new_rows.anywhere()  # another process's NOTIFY cannot say which platform
    t.reset()
    assert await t.dispatcher.run_once() == 0
    assert t.transactions == 2  # both platforms looked at (each found nothing)


async def test_a_message_in_the_tickets_thread_reads_the_ticket_once_locked(traced: Traced) -> None:
    t = traced
    async with t.store.uow() as uow:
        [ticket] = await uow.tickets.list_open()
    assert ticket.customer_thread_ref is not None
    t.reset()
    await customer_post(t.desk, CustomerPost(ALICE, "e1", "in the thread", thread_ref=ticket.customer_thread_ref))
    [read] = [s for s in t.statements if s.startswith("SELECT tickets.")]
    if t.store.engine.dialect.name == "postgresql":  # locked as it is found: not read again to lock it
        assert read.endswith("FOR UPDATE")
    assert await t.dispatcher.run_once() == 1
    # the ticket, locked; the message, its own duplicate check; its outbox row (the ticket already
    # waited on staff: nothing of it changed); the settle
    assert len(t.statements) == 4 and t.transactions == 2, "\n".join(s[:90] for s in t.statements)


class _Timed(RecordingPort):
    """Records when each delivery starts and ends; `gate`, if set, holds every delivery until opened."""

    def __init__(self, name: str, log: list[str], gate: asyncio.Event | None = None) -> None:
        super().__init__(name)
        self.log, self.gate = log, gate

    async def deliver(self, delivery: Delivery) -> str | None:
        self.log.append(f"{self.name} {delivery.action} starts")
        if self.gate is not None:
            await self.gate.wait()
        await asyncio.sleep(0.01)
        self.log.append(f"{self.name} {delivery.action} ends")
        return await super().deliver(delivery)


async def _answer_and_card(t: Traced) -> None:
    """What a staff answer writes: the post to the customer, then the card's redraw."""
    async with t.store.uow() as uow:
        [ticket] = await uow.tickets.list_open()
        await emit(uow, t.desk.clock.now(), Target.CUSTOMER, "post", ticket, text=Text("thread_not_ticket"))
        await emit(uow, t.desk.clock.now(), Target.STAFF, "card_update", ticket)
        await uow.commit()


async def test_the_customer_side_goes_first_and_the_card_after_it(traced: Traced) -> None:
    t, log = traced, []
    t.dispatcher.ports.update({Target.CUSTOMER: _Timed("customer", log), Target.STAFF: _Timed("staff", log)})
    await _answer_and_card(t)
    assert await t.dispatcher.run_once() == 2
    assert log == ["customer post starts", "customer post ends", "staff card_update starts", "staff card_update ends"]


async def test_a_slow_customer_platform_holds_the_staff_side_back_only_briefly(
        traced: Traced, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lanes, "HEAD_START", 0.05)
    t, log, gate = traced, [], asyncio.Event()
    t.dispatcher.ports.update({Target.CUSTOMER: _Timed("customer", log, gate), Target.STAFF: _Timed("staff", log)})
    await _answer_and_card(t)
    run = asyncio.create_task(t.dispatcher.run_once())
    async with asyncio.timeout(5):
        while "staff card_update ends" not in log:
            await asyncio.sleep(0.01)
    assert "customer post ends" not in log  # Discord still in hand: Slack was not held behind it
    gate.set()
    assert await run == 2


async def test_a_pass_that_only_delivered_rows_handed_to_it_does_not_look_for_the_next_due_time(traced: Traced) -> None:
    t = traced
    runner = asyncio.create_task(t.dispatcher.run_forever(idle_poll=30))
    try:
        async with asyncio.timeout(5):
            while not any(s.startswith("SELECT min(") for s in t.statements):  # the first pass, everywhere
                await asyncio.sleep(0.01)
            t.reset()
            await customer_post(t.desk, CustomerPost(ALICE, "e1", "hello"))
            while not [d for d in t.staff.delivered if d.message]:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)
        assert t.transactions == 2 and not any(s.startswith("SELECT min(") for s in t.statements)
    finally:
        t.dispatcher.stop()
        await runner


async def test_a_stopping_dispatcher_puts_back_the_rows_handed_to_it_that_it_did_not_take(traced: Traced) -> None:
    t = traced
    runner = asyncio.create_task(t.dispatcher.run_forever(idle_poll=30))
    async with asyncio.timeout(5):
        while not any(s.startswith("SELECT min(") for s in t.statements):  # the first pass is done
            await asyncio.sleep(0.01)
    async with t.store.uow() as uow:
        [ticket] = await uow.tickets.list_open()
        await emit(uow, t.desk.clock.now(), Target.STAFF, "card_update", ticket)
        await uow.commit()  # handed over and the dispatcher woken, but it has not run yet
        t.dispatcher.stop()
    await asyncio.wait_for(runner, 5)
    assert not [d for d in t.staff.delivered if d.action == "card_update"]
    async with t.store.uow() as uow:
        [row] = await uow.outbox.claim_due(t.desk.clock.now())  # due again, for the next process
    assert (row.action, row.leased_by, row.attempts) == ("card_update", None, 0)  # not an interrupted attempt


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


async def test_the_settle_commits_without_waiting_for_the_disk(traced: Traced) -> None:
    """A settle undone by a power cut brings its row back as an interrupted delivery (looked up
    before it is sent again): its commit need not wait for the disk. The message's stays durable."""
    t = traced
    await customer_post(t.desk, CustomerPost(ALICE, "e1", "hello"))
    [delivery] = t.store.new_rows.take_handed(Target.STAFF, 10)
    assert delivery.item is not None
    delivery.item.status, delivery.item.ref = OutboxStatus.DELIVERED, "s-9"
    sqlite = t.store.engine.dialect.name == "sqlite"
    async with t.store.uow() as uow:  # durable by default
        await uow.messages.get(0)
        assert await _commit_waits_for_the_disk(uow, sqlite)
    async with t.store.uow(durable=False) as uow:  # as the dispatcher settles a reacted answer
        assert await uow.outbox.settle(delivery.item, t.dispatcher.owner)
        assert not await _commit_waits_for_the_disk(uow, sqlite)
        await uow.commit()
    async with t.store.uow() as uow:
        row = await uow.outbox.get(delivery.item_id)
    assert row is not None and row.status is OutboxStatus.DELIVERED and row.ref == "s-9"


async def _commit_waits_for_the_disk(uow: Any, sqlite: bool) -> bool:
    db = uow._db  # the unit's own connection, in its transaction
    if sqlite:
        return bool(db._raw.execute("PRAGMA synchronous").fetchone() == (2,))  # FULL; NORMAL does not
    return bool((await db.exec_driver_sql("SELECT current_setting('synchronous_commit')")).scalar_one() == "on")


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
