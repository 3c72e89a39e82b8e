"""The outbox dispatcher over in-memory fakes: refs, order within a ticket, retries, reactions."""

from __future__ import annotations

import asyncio

from bot.commands import CustomerPost, StaffPost
from bot.customers.accounts import link_account
from bot.delivery.new_rows import NewRows
from bot.delivery.outbox import MAX_ATTEMPTS, Dispatcher
from bot.domain import OutboxStatus, Target
from bot.ports import Delivery, RetryLater, Undeliverable
from bot.tickets.conversation import customer_post, staff_post
from bot.tickets.opening import open_ticket
from tests.core_helpers import ALICE, BOB, form, link, make_desk, make_dispatcher
from tests.fakes import RecordingPort


async def setup():  # type: ignore[no-untyped-def]
    desk = make_desk()
    await link_account(desk, link())
    number = (await open_ticket(desk, form())).number
    return desk, number, *make_dispatcher(desk)


async def test_delivery_records_platform_refs_on_ticket_and_message():
    desk, n, dispatcher, customer, staff, _ = await setup()
    await dispatcher.run_once()
    t = desk.uow.state.tickets[n]
    assert (t.staff_thread_ref, t.customer_thread_ref) == ("s-1", "c-1")
    await staff_post(desk, StaffPost(BOB, "e1", "Answer", "slack-ts-9", thread_ref="s-1"))
    await dispatcher.run_once()
    answer = [m for m in desk.uow.state.messages.values() if m.body == "Answer"][0]
    assert answer.customer_ref == "c-2" and answer.staff_ref == "slack-ts-9"
    # the delivered answer gets its reaction on the staff side
    assert staff.delivered[-1].action == "react" and staff.delivered[-1].payload["name"] == "white_check_mark"
    assert customer.delivered[-1].message is not None and customer.delivered[-1].ticket.customer_thread_ref == "c-1"


async def test_retry_after_is_honoured_and_order_within_a_ticket_is_kept():
    desk, n, dispatcher, customer, staff, _ = await setup()
    await dispatcher.run_once()
    for i in range(3):
        await staff_post(desk, StaffPost(BOB, f"e{i}", f"Answer {i}", f"ts{i}", ticket_number=n))
    customer.fail_next = [RetryLater("429", retry_after=30)]
    await dispatcher.run_once()
    assert [d.message.body for d in customer.delivered if d.message] == []  # blocked behind the failed first
    reactions = [d.payload["name"] for d in staff.delivered if d.action == "react"]
    assert reactions == ["hourglass_flowing_sand"]
    desk.clock.advance(seconds=29)
    await dispatcher.run_once()
    assert [d.message for d in customer.delivered if d.message] == []
    desk.clock.advance(seconds=1)
    await dispatcher.run_once()
    assert [d.message.body for d in customer.delivered if d.message] == ["Answer 0", "Answer 1", "Answer 2"]
    assert all(o.status is OutboxStatus.DELIVERED for o in desk.uow.state.outbox.values())
    reactions = [d.payload["name"] for d in staff.delivered if d.action == "react"]
    assert reactions == ["hourglass_flowing_sand"] + ["white_check_mark"] * 3


async def test_undeliverable_and_exhausted_rows_are_parked_not_lost():
    desk, n, dispatcher, customer, staff, _ = await setup()
    staff.fail_next = [Undeliverable("channel_not_found")]
    customer.fail_next = [RetryLater("down")] * (MAX_ATTEMPTS + 5)
    for _ in range(MAX_ATTEMPTS + 1):
        await dispatcher.run_once()
        desk.clock.advance(hours=1)
    rows = {o.action: o for o in desk.uow.state.outbox.values() if o.action in ("card", "open_thread")}
    assert rows["card"].status is OutboxStatus.DEAD and rows["card"].last_error == "channel_not_found"
    assert rows["open_thread"].status is OutboxStatus.DEAD and rows["open_thread"].attempts == MAX_ATTEMPTS


async def test_an_adapter_bug_does_not_stop_other_deliveries():
    desk, n, dispatcher, customer, staff, _ = await setup()
    staff.fail_next = [ValueError("boom")]
    await dispatcher.run_once()
    assert customer.actions() == ["open_thread"]  # delivered despite the staff-side bug
    desk.clock.advance(minutes=5)
    await dispatcher.run_once()
    assert staff.actions() == ["card"]


async def test_customer_message_is_relayed_once_to_staff():
    desk, n, dispatcher, customer, staff, _ = await setup()
    await dispatcher.run_once()
    for _ in range(2):
        await customer_post(desk, CustomerPost(ALICE, "d-1", "<!channel> help", thread_ref="c-1"))
    await dispatcher.run_once()
    posts = [d for d in staff.delivered if d.action == "post"]
    assert len(posts) == 1 and posts[0].message.body == "<!channel> help"


async def test_a_slow_platform_does_not_hold_back_the_other():
    """Slack paces posts (a second per channel) or may hang: Discord deliveries go on meanwhile."""
    desk, n, dispatcher, customer, staff, _ = await setup()
    release = asyncio.Event()
    recorded = staff.deliver

    async def slow(delivery):  # type: ignore[no-untyped-def]
        await release.wait()
        return await recorded(delivery)

    staff.deliver = slow  # type: ignore[method-assign]
    running = asyncio.create_task(dispatcher.run_once())
    async with asyncio.timeout(2):
        while customer.actions() != ["open_thread"]:
            await asyncio.sleep(0.01)
    assert staff.actions() == [] and not running.done()  # the card still waits; the thread is there
    release.set()
    await running
    assert staff.actions() == ["card"]


class LanePort(RecordingPort):
    """A staff port with a lane per ticket (as the Slack port) whose posts to one ticket hang."""

    def __init__(self) -> None:
        super().__init__("s")
        self.stuck_ticket: int | None = None
        self.release = asyncio.Event()

    def lane(self, delivery: Delivery) -> int | None:
        return delivery.ticket.id if delivery.ticket else None

    async def deliver(self, delivery: Delivery) -> str | None:
        if delivery.ticket and delivery.ticket.id == self.stuck_ticket and delivery.action == "post":
            await self.release.wait()
        return await super().deliver(delivery)


async def test_with_lanes_a_ticket_does_not_wait_for_the_slowest_lane_of_a_batch() -> None:
    """Rows that come due while a lane is stuck (the next of a ticket, a newcomer's first) go at
    once, not after the rest of the batch: no ticket waits behind another ticket's queue."""
    desk = make_desk()
    await link_account(desk, link())
    stuck, busy, late = [(await open_ticket(desk, form(subject=s))).number
                         for s in ("Sitemap is empty", "Checkout button hidden", "Images load slowly")]
    staff, new_rows = LanePort(), NewRows()
    dispatcher = Dispatcher(desk.uow, desk.clock, {Target.STAFF: staff, Target.CUSTOMER: RecordingPort("c")},
                            new_rows=new_rows)
    await dispatcher.run_once()  # cards and threads
    staff.stuck_ticket = desk.uow.state.tickets[stuck].id
    await customer_post(desk, CustomerPost(ALICE, "s0", "stuck 0", ticket_number=stuck))
    for i in range(3):
        await customer_post(desk, CustomerPost(ALICE, f"b{i}", f"busy {i}", ticket_number=busy))
    running = asyncio.create_task(dispatcher.run_once())

    def posted() -> list[str]:
        return [d.message.body for d in staff.delivered if d.action == "post" and d.message]

    async with asyncio.timeout(2):
        while len(posted()) < 3:
            await asyncio.sleep(0.01)
        await customer_post(desk, CustomerPost(ALICE, "l0", "late 0", ticket_number=late))  # written meanwhile
        new_rows.added({Target.STAFF})  # what the SQL unit of work's commit hook says
        while len(posted()) < 4:
            await asyncio.sleep(0.01)
    assert posted() == ["busy 0", "busy 1", "busy 2", "late 0"] and not running.done()
    staff.release.set()
    await running
    assert posted()[-1] == "stuck 0"
    assert all(o.status is OutboxStatus.DELIVERED for o in desk.uow.state.outbox.values())
