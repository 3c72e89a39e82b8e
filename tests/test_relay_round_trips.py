"""Issue 13: the relay path in as few round trips as it needs, on SQLite and PostgreSQL. A
customer message is one transaction to store (message, outbox row, the ticket's changed columns
only), one to lease, one to settle; a pass leases only the platforms that got rows; the
dispatcher's own commits wake nobody; rows waiting behind a delivered one still go in the
same pass."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import event

from bot.commands import CustomerPost
from bot.customers.accounts import link_account
from bot.customers.licences import StoredLicences
from bot.delivery.outbox import Dispatcher
from bot.desk import Desk
from bot.domain import Target
from bot.tickets.conversation import customer_post
from bot.tickets.opening import open_ticket
from bot.time.clock import ManualClock
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

        @event.listens_for(store.engine.sync_engine, "before_cursor_execute")
        def _statement(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            t.statements.append(" ".join(statement.split()))

        @event.listens_for(store.engine.sync_engine, "begin")
        def _begin(*_: Any) -> None:
            t.transactions += 1

        yield t
    finally:
        await store.engine.dispose()


def writes(t: Traced, table: str) -> list[str]:
    return [s for s in t.statements if s.startswith(f"UPDATE {table} ")]


async def test_a_customer_message_is_stored_leased_and_settled_in_three_transactions(traced: Traced) -> None:
    t = traced
    t.store.wake.clear()
    t.reset()
    await customer_post(t.desk, CustomerPost(ALICE, "e1", "still broken"))
    assert t.store.wake.is_set()  # the new row wakes the dispatcher
    t.store.wake.clear()
    assert await t.dispatcher.run_once() == 1
    assert [d.message.body for d in t.staff.delivered if d.message] == ["still broken"]
    # store (message + outbox row + ticket), lease (staff only: the customer side got nothing), settle
    assert t.transactions == 3, "\n".join(s[:90] for s in t.statements)
    assert not t.store.wake.is_set()  # the lease's and the settle's commits woke nobody
    # narrow writes: the ticket's one changed column; the outbox row's delivery state, no payload
    [ticket_write] = writes(t, "tickets")
    assert ticket_write.split(" WHERE")[0].split("=")[0] == "UPDATE tickets SET last_customer_message_at"
    assert all("payload" not in s for s in writes(t, "outbox"))
    # the lease reads the row's ticket and message in its claim, not one by one; on SQLite
    # (BEGIN IMMEDIATE) the ticket read once in the store transaction is not read again to lock it
    assert not [s for s in t.statements if s.startswith("SELECT messages.")]
    ticket_reads = [s for s in t.statements if s.startswith("SELECT tickets.")]
    assert len(ticket_reads) == (1 if t.store.engine.dialect.name == "sqlite" else 2)
    assert len(writes(t, "outbox")) == 2  # leased, settled
    assert "leased_by" in writes(t, "outbox")[-1].split(" WHERE")[1]  # settled only while the lease is ours


async def test_messages_waiting_behind_one_another_all_go_in_one_pass(traced: Traced) -> None:
    t = traced
    for i in range(3):
        await customer_post(t.desk, CustomerPost(ALICE, f"e{i}", f"part {i}"))
    t.reset()
    assert await t.dispatcher.run_once() == 3
    assert [d.message.body for d in t.staff.delivered if d.message] == ["part 0", "part 1", "part 2"]
    # each row waits for the one before it: three leases, three settles, and no lease that found nothing
    assert t.transactions == 6


async def test_without_a_hint_a_pass_looks_at_every_platform(traced: Traced) -> None:
    t = traced
    await customer_post(t.desk, CustomerPost(ALICE, "e1", "hello"))
    t.store.new_rows.take()  # as if the commit's hint were lost: e.g. a retry that came due by time
    assert await t.dispatcher.run_once() == 1
    t.store.new_rows.anywhere()  # another process's NOTIFY cannot say which platform
    t.reset()
    assert await t.dispatcher.run_once() == 0
    assert t.transactions == 2  # both platforms looked at (each found nothing)
