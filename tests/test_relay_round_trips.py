"""Issue 13: the relay path in as few round trips as it needs, on SQLite and PostgreSQL. A
customer message is one transaction to store (message, outbox row written leased to this
process's dispatcher, the ticket's changed columns only) and one to settle: the row is handed
over in memory, no lease; a row behind a pending one of its ticket waits for a lease, in order;
a pass leases only the platforms that got such rows; the dispatcher's own commits wake nobody;
a handed row whose process died is delivered by another once its lease runs out; a use case's
rows are one statement."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.commands import CustomerPost, StaffPost
from bot.delivery import lanes
from bot.delivery.effects import effect, emit, emit_all
from bot.delivery.leases import LEASE
from bot.delivery.outbox import Dispatcher
from bot.domain import OutboxStatus, Target, TicketStatus
from bot.ports import Delivery, RetryLater
from bot.texts import Text
from bot.tickets.conversation import customer_post, staff_post
from bot.time.clock import ManualClock
from supportbot.bootstrap import open_store
from tests.core_helpers import ALICE, BOB, OPEN_TIME
from tests.fakes import RecordingPort
from tests.relay_trace import Traced, writes


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
    # again to lock it; the message its own duplicate check (no processed event), on PostgreSQL
    # in the statement that writes its outbox row; the settle one statement (the post's ref goes
    # on its message by a trigger)
    assert not [s for s in t.statements if "processed_events" in s]
    postgres = t.store.engine.dialect.name == "postgresql"
    assert len(t.statements) == 5
    together = [s for s in t.statements if s.startswith("WITH relayed AS (INSERT INTO messages")]
    assert len(together) == (1 if postgres else 0) and all("INSERT INTO outbox" in s for s in together)
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
    # waited on staff: nothing of it changed), with the message on PostgreSQL; the settle
    statements = 3 if t.store.engine.dialect.name == "postgresql" else 4
    assert len(t.statements) == statements and t.transactions == 2, "\n".join(s[:90] for s in t.statements)


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


async def test_a_use_cases_rows_go_in_one_statement_in_order_handed_over_or_waiting_as_one_by_one(
        traced: Traced) -> None:
    """A relay and the card update it causes (or a staff answer, the card, the DM) are one INSERT:
    each row is checked against what was there before, as if written one by one."""
    t = traced
    now = t.desk.clock.now()
    async with t.store.uow() as uow:
        [ticket] = await uow.tickets.list_open()
    t.store.new_rows.stop_hand_off()
    async with t.store.uow() as uow:  # a staff row waiting for a lease (another process's, say)
        await emit(uow, now, Target.STAFF, "post", ticket, text=Text("waiting"))
        await uow.commit()
    t.store.new_rows.hand_off_to(t.dispatcher.owner, [Target.STAFF, Target.CUSTOMER])
    t.reset()
    rows = [effect(now, Target.STAFF, "post", ticket, text=Text("a")),
            effect(now, Target.CUSTOMER, "post", ticket, text=Text("b")),
            effect(now, Target.STAFF, "card_update", ticket)]
    async with t.store.uow() as uow:
        await emit_all(uow, rows)
        await uow.commit()
    assert len([s for s in t.statements if s.startswith("INSERT INTO outbox")]) == 1
    ids = [item.id or 0 for item, _, _ in rows]
    async with t.store.uow() as uow:  # each row got its own id, in the order the use case wrote them
        stored = [await uow.outbox.get(row_id) for row_id in ids]
    assert [(row.target, row.action, row.payload.get("text", {}).get("key")) for row in stored if row] == [
        (Target.STAFF, "post", "a"), (Target.CUSTOMER, "post", "b"), (Target.STAFF, "card_update", None)]
    assert ids == sorted(ids)
    # behind the waiting staff row, both staff rows wait too; the customer's is handed over
    assert [item.leased_by for item, _, _ in rows] == [None, t.dispatcher.owner, None]
    [handed] = t.store.new_rows.take_all_handed()
    assert handed.item_id == ids[1]
    async with t.store.uow() as uow:
        due = await uow.outbox.claim_due(now, targets=[Target.STAFF])
    assert [item.payload["text"]["key"] for item in due] == ["waiting"]  # ours wait behind it, in order


async def test_a_retried_event_writes_neither_the_message_nor_its_rows_again(traced: Traced) -> None:
    """On PostgreSQL a message and its relay rows are one statement: a duplicate writes neither."""
    t = traced
    async with t.store.uow() as uow:
        [ticket] = await uow.tickets.list_open()
    assert ticket.customer_thread_ref is not None
    post = CustomerPost(ALICE, "e1", "once only", thread_ref=ticket.customer_thread_ref)
    await customer_post(t.desk, post)
    # answered: the retry below, made while the ticket waits on the customer, would redraw the card too
    answer = StaffPost(BOB, "e2", "Try this.", "ts-2", ticket_number=ticket.number)
    await staff_post(t.desk, answer)
    while await t.dispatcher.run_once():
        pass
    t.reset()
    assert await customer_post(t.desk, post) is None  # the platform's retry: silent
    if t.store.engine.dialect.name == "postgresql":  # the one statement met the duplicate
        assert [s for s in t.statements if s.startswith("WITH relayed AS (INSERT INTO messages")]
    assert await t.dispatcher.run_once() == 0  # nothing new to deliver
    async with t.store.uow() as uow:
        relayed = [m for m in await uow.messages.for_ticket(ticket.id or 0) if m.body == "once only"]
    assert len(relayed) == 1 and relayed[0].staff_ref is not None
    assert [d.message.body for d in t.staff.delivered if d.message].count("once only") == 1  # posted once
    t.reset()
    assert await staff_post(t.desk, answer) is None  # a retry of the answer: as silent
    if t.store.engine.dialect.name == "postgresql":
        assert [s for s in t.statements if s.startswith("WITH relayed AS (INSERT INTO messages")]
    assert await t.dispatcher.run_once() == 0
