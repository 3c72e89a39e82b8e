"""/tickets, /tickets mine and /tickets stats: bounded, filtered and aggregated by the database
(SQLite and PostgreSQL), and rendered by the core without counting years of working time."""

from __future__ import annotations

from datetime import timedelta

from bot.commands import Staff
from bot.domain import Ticket, TicketStatus
from bot.ports import UnitOfWorkFactory
from bot.tickets.queries import LONG_SPAN, staff_open_tickets, staff_stats, time_left
from tests.core_helpers import make_desk
from tests.test_storage import T0, make_account, new_ticket

# a staff member of the channel of every ticket these tests make
DESK_STAFF = Staff("s-bob", "Bob", frozenset({"C1"}))  # new_ticket's staff channel


async def _store(uow_factory: UnitOfWorkFactory, tickets: list[Ticket]) -> list[Ticket]:
    async with uow_factory() as uow:
        stored = [await uow.tickets.add(t) for t in tickets]
        await uow.commit()
    return stored


async def test_open_page_is_nearest_deadline_first_then_undated_and_bounded(uow_factory: UnitOfWorkFactory) -> None:
    account = await make_account(uow_factory)
    hours = [5, None, 1, 3, None, 3, 2]
    stored = await _store(uow_factory, [
        new_ticket(account, sla_due_at=T0 + timedelta(hours=h) if h is not None else None,
                   status=TicketStatus.AWAITING_STAFF if h is not None else TicketStatus.AWAITING_CUSTOMER)
        for h in hours] + [new_ticket(account, status=TicketStatus.CLOSED, sla_due_at=None)])
    ids = [t.number for t in stored]
    by_deadline = [ids[2], ids[6], ids[3], ids[5], ids[0], ids[1], ids[4]]  # ties by number; closed left out
    async with uow_factory() as uow:
        assert [t.number for t in await uow.tickets.open_page(100)] == by_deadline
        for size in (1, 3, 5, 6):
            assert [t.number for t in await uow.tickets.open_page(size)] == by_deadline[:size]
        assert await uow.tickets.count_open() == 7


async def test_open_page_and_count_filter_by_assignee(uow_factory: UnitOfWorkFactory) -> None:
    account = await make_account(uow_factory)
    stored = await _store(uow_factory, [
        new_ticket(account, assignee="U1", sla_due_at=T0 + timedelta(hours=2)),
        new_ticket(account, assignee="U2", sla_due_at=T0 + timedelta(hours=1)),
        new_ticket(account, assignee="U1", sla_due_at=None, status=TicketStatus.AWAITING_CUSTOMER),
        new_ticket(account, assignee="U1", status=TicketStatus.CLOSED),
        new_ticket(account, assignee=None, sla_due_at=T0),
    ])
    async with uow_factory() as uow:
        assert [t.number for t in await uow.tickets.open_page(10, assignee="U1")] == [stored[0].number,
                                                                                       stored[2].number]
        assert await uow.tickets.count_open(assignee="U1") == 2
        assert await uow.tickets.count_open(assignee="U3") == 0
        assert await uow.tickets.open_page(10, assignee="U3") == []


async def test_stats_are_aggregated_per_product(uow_factory: UnitOfWorkFactory) -> None:
    account = await make_account(uow_factory)
    start, end = T0, T0 + timedelta(days=30)
    await _store(uow_factory, [
        new_ticket(account, product="a", opened_at=T0 + timedelta(days=1), first_response_at=T0 + timedelta(days=2),
                   first_response_work_s=1800.0),
        new_ticket(account, product="a", opened_at=T0 + timedelta(days=2), first_response_at=T0 + timedelta(days=3),
                   first_response_work_s=7200.0, status=TicketStatus.CLOSED, closed_at=T0 + timedelta(days=4)),
        new_ticket(account, product="a", opened_at=T0 + timedelta(days=3)),  # not answered yet
        new_ticket(account, product="b", opened_at=T0 - timedelta(days=5), status=TicketStatus.CLOSED,
                   closed_at=T0 + timedelta(days=1)),  # opened before the window, closed in it
        new_ticket(account, product="b", opened_at=T0 + timedelta(days=1), first_response_at=T0 + timedelta(days=1),
                   first_response_work_s=None),  # answered before the working time was stored
        new_ticket(account, product="c", opened_at=end),  # just after the window
    ])
    async with uow_factory() as uow:
        stats = await uow.tickets.stats_between(start, end, promise_s=3600.0)
        unmeasured = await uow.tickets.unmeasured_answers(start, end)
    assert [(s.product, s.opened, s.closed, s.answered, s.answer_work_s, s.answered_within) for s in stats] == [
        ("a", 3, 1, 2, 9000.0, 1), ("b", 1, 1, 0, 0.0, 0)]
    assert [(u.product, u.opened_at) for u in unmeasured] == [("b", T0 + timedelta(days=1))]


async def test_tickets_view_says_how_many_more_there_are() -> None:
    desk = make_desk()
    now = desk.clock.now()
    async with desk.uow() as uow:
        for i in range(30):
            await uow.tickets.add(new_ticket(1, subject=f"Ticket {i}", opened_at=now,
                                             sla_due_at=now + timedelta(hours=30 - i)))
        await uow.commit()
    text = await staff_open_tickets(desk, DESK_STAFF, page=25)
    lines = text.splitlines()
    assert len([line for line in lines if line.startswith("#")]) == 25
    assert lines[1].startswith("#30 ") and "Ticket 29" in lines[1]  # the nearest deadline first
    assert lines[-1] == "… and 5 more."
    assert "more" not in await staff_open_tickets(desk, DESK_STAFF, page=30)


async def test_time_left_far_away_is_a_date_not_a_count() -> None:
    desk = make_desk()
    now = desk.clock.now()
    far = new_ticket(1, sla_due_at=now + LONG_SPAN + timedelta(days=400))
    long_overdue = new_ticket(1, sla_due_at=now - LONG_SPAN - timedelta(days=400))
    soon = new_ticket(1, sla_due_at=now + timedelta(hours=2))
    assert time_left(desk, far, now).startswith("due ")
    assert time_left(desk, long_overdue, now).startswith("OVERDUE since ")
    assert time_left(desk, soon, now).endswith(" left") and "2h" in time_left(desk, soon, now)


async def test_stats_measure_old_answers_once_per_view() -> None:
    desk = make_desk()
    now = desk.clock.now()
    async with desk.uow() as uow:
        await uow.tickets.add(new_ticket(1, product="seo-suite", opened_at=now - timedelta(hours=1),
                                         first_response_at=now))  # unmeasured: 1h of working time
        await uow.tickets.add(new_ticket(1, product="seo-suite", opened_at=now - timedelta(hours=2),
                                         first_response_at=now, first_response_work_s=3 * 3600.0))
        await uow.commit()
    stats = await staff_stats(desk, DESK_STAFF)
    assert "2 opened" in stats and "average first answer 2h" in stats
