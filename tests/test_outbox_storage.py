"""The outbox dispatcher over real storage (SQLite and PostgreSQL): order, retries, refs, and two
dispatchers sharing one database without delivering anything twice."""

from __future__ import annotations

import asyncio
from collections import Counter

from bot.commands import StaffPost
from bot.customers.accounts import link_account
from bot.customers.licences import StoredLicences
from bot.delivery.outbox import Dispatcher
from bot.desk import Desk
from bot.domain import Target
from bot.ports import RetryLater, UnitOfWorkFactory
from bot.tickets.conversation import staff_post
from bot.tickets.opening import open_ticket
from bot.time.clock import ManualClock
from storage.engine import make_connection_factory, make_engine
from storage.uow import sql_uow_factory
from tests.core_helpers import BOB, OPEN_TIME, form, link, make_policy
from tests.fakes import RecordingPort
from tests.test_timers_storage import LICENCES, import_licences


async def opened(uow_factory: UnitOfWorkFactory) -> tuple[Desk, int]:
    await import_licences(uow_factory, *LICENCES)
    desk = Desk(uow_factory, ManualClock(OPEN_TIME), make_policy(), StoredLicences(uow_factory))
    await link_account(desk, link())
    return desk, (await open_ticket(desk, form())).number


def ports() -> dict[Target, RecordingPort]:
    return {Target.CUSTOMER: RecordingPort("c"), Target.STAFF: RecordingPort("s"), Target.EMAIL: RecordingPort("e")}


async def test_refs_order_and_retry_after_on_storage(uow_factory: UnitOfWorkFactory) -> None:
    desk, n = await opened(uow_factory)
    p = ports()
    dispatcher = Dispatcher(uow_factory, desk.clock, p)  # type: ignore[arg-type]
    await dispatcher.run_once()
    async with uow_factory() as uow:
        ticket = await uow.tickets.get(n)
    assert ticket is not None and (ticket.staff_thread_ref, ticket.customer_thread_ref) == ("s-1", "c-1")
    for i in range(3):
        await staff_post(desk, StaffPost(BOB, f"e{i}", f"Answer {i}", f"ts{i}", thread_ref="s-1"))
    p[Target.CUSTOMER].fail_next = [RetryLater("429", retry_after=20)]
    await dispatcher.run_once()
    assert [d.message.body for d in p[Target.CUSTOMER].delivered if d.message] == []
    desk.clock.advance(seconds=20)  # type: ignore[attr-defined]
    await dispatcher.run_once()
    assert [d.message.body for d in p[Target.CUSTOMER].delivered if d.message] == ["Answer 0", "Answer 1", "Answer 2"]
    async with uow_factory() as uow:
        assert await uow.outbox.next_due_at() is None  # everything delivered
        answer = await uow.messages.by_ref("staff", "ts0")
    assert answer is not None and answer.customer_ref == "c-2"


async def test_two_dispatchers_on_one_database_deliver_each_row_once(db_url: str, uow_factory: UnitOfWorkFactory) -> None:
    desk, n = await opened(uow_factory)
    for i in range(40):
        await staff_post(desk, StaffPost(BOB, f"e{i}", f"Answer {i}", f"ts{i}", ticket_number=n))
    other_engine = make_engine(db_url)
    try:
        p1, p2 = ports(), ports()
        d1 = Dispatcher(uow_factory, desk.clock, p1)  # type: ignore[arg-type]
        d2 = Dispatcher(sql_uow_factory(make_connection_factory(other_engine)), desk.clock, p2)  # type: ignore[arg-type]
        await asyncio.gather(d1.run_once(), d2.run_once())
    finally:
        await other_engine.dispose()
    delivered = [d.item_id for p in (p1, p2) for port in p.values() for d in port.delivered]
    assert Counter(delivered).most_common(1)[0][1] == 1  # nothing twice
    async with uow_factory() as uow:
        assert await uow.outbox.next_due_at() is None
    answers = [d.message.body for p in (p1, p2) for d in p[Target.CUSTOMER].delivered if d.message]
    assert sorted(answers, key=lambda b: int(b.split()[-1])) == [f"Answer {i}" for i in range(40)]


async def test_a_process_serving_one_platform_leaves_the_others_rows_waiting(uow_factory: UnitOfWorkFactory) -> None:
    """A Slack-only process must deliver Slack's rows even behind many older Discord rows, and
    leave Discord's rows for the process that serves Discord."""
    desk, n = await opened(uow_factory)
    for i in range(60):  # more than one lease batch of customer-side rows
        await staff_post(desk, StaffPost(BOB, f"e{i}", f"Answer {i}", f"ts{i}", ticket_number=n))
    staff_only = RecordingPort("s")
    await Dispatcher(uow_factory, desk.clock, {Target.STAFF: staff_only}).run_once()  # type: ignore[dict-item]
    # the first answer changed the card; the 59 after it left it as it was
    assert staff_only.actions().count("card_update") == 1 and "card" in staff_only.actions()
    async with uow_factory() as uow:
        assert await uow.outbox.next_due_at(targets=[Target.STAFF]) is None
        waiting = await uow.outbox.next_due_at(targets=[Target.CUSTOMER])
    assert waiting is not None  # the customer side's rows are still there, not dropped
    discord_side = RecordingPort("c")
    await Dispatcher(uow_factory, desk.clock, {Target.CUSTOMER: discord_side}).run_once()  # type: ignore[dict-item]
    assert [d.message.body for d in discord_side.delivered if d.message] == [f"Answer {i}" for i in range(60)]
