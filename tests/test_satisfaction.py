"""Satisfaction: asked after a close (not after inactivity), once, in time, by the ticket's customer only."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.commands import Customer, CustomerClose, StaffClose
from bot.customers.accounts import link_account
from bot.domain import CloseReason
from bot.errors import Refusal
from bot.reporting.report import load_report
from bot.texts import render
from bot.tickets.actions import customer_close, staff_close
from bot.tickets.opening import open_ticket
from bot.tickets.satisfaction import rate
from bot.time.timers import sweep
from tests.core_helpers import ALICE, BOB, form, link, make_desk

CAROL = Customer("discord", "u-carol", "Carol")


async def closed_ticket(**policy):  # type: ignore[no-untyped-def]
    desk = make_desk(**policy)
    await link_account(desk, link())
    n = (await open_ticket(desk, form())).number
    await staff_close(desk, StaffClose(BOB, n, CloseReason.RESOLVED))
    return desk, n


def rows(desk, n):  # type: ignore[no-untyped-def]
    return [o for o in desk.uow.state.outbox.values() if o.ticket_id == n]


async def refusal(coro) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(Refusal) as refused:
        await coro
    return render(refused.value.text)


async def test_the_close_asks_for_a_rating_before_the_lock() -> None:
    desk, n = await closed_ticket()
    customer = [(o.action, o.payload) for o in rows(desk, n) if o.target.value == "customer"]
    asks = [i for i, (a, p) in enumerate(customer) if p.get("rating_buttons")]
    assert len(asks) == 1 and asks[0] < [a for a, _ in customer].index("lock")
    assert customer[asks[0]][1]["text"]["key"] == "rating_request"


async def test_a_rating_is_stored_once_shown_to_staff_and_in_the_report() -> None:
    desk, n = await closed_ticket()
    reply = await rate(desk, ALICE, None, 5, "  quick   answer ")  # no number: her last closed ticket
    assert render(reply) == f"Thank you for rating ticket #{n}!"
    stored = desk.uow.state.ratings[n]
    assert (stored.score, stored.comment, stored.rated_by) == (5, "quick answer", "discord:u-alice")
    staff = [(o.action, o.payload) for o in rows(desk, n) if o.target.value == "staff"]
    assert ("card_update", {"rating": 5, "comment": "quick answer"}) in staff
    assert staff[-1][1]["text"] == {"key": "rating_note", "params": {"name": "Alice", "score": 5,
                                                                     "comment": ": quick answer"}}
    assert await refusal(rate(desk, ALICE, n, 1)) == f"Ticket #{n} has already been rated. Thank you!"
    assert desk.uow.state.ratings[n].score == 5
    report = await load_report(desk, desk.clock.now() - timedelta(days=1), desk.clock.now() + timedelta(hours=1))
    assert (report.overall.rating_average, report.overall.ratings) == (5.0, 1)


async def test_ratings_refused_politely() -> None:
    desk, n = await closed_ticket(rating_window=timedelta(days=2))
    await link_account(desk, link(CAROL, "carol@example.com", "SEO-CAROL"))
    assert await refusal(rate(desk, CAROL, n, 4)) == f"There is no ticket #{n} of yours."
    assert await refusal(rate(desk, ALICE, n, 6)) == "A rating is a number from 1 to 5."
    other = (await open_ticket(desk, form(subject="Canonical URLs are wrong"))).number
    assert await refusal(rate(desk, ALICE, other, 4)) == f"Ticket #{other} is still open: you can rate it once it is closed."
    desk.clock.advance(days=2, seconds=1)
    assert await refusal(rate(desk, ALICE, n, 4)) == f"The time to rate ticket #{n} has passed. Thank you all the same!"
    assert not desk.uow.state.ratings


async def test_no_rating_after_inactivity_nor_when_switched_off() -> None:
    desk = make_desk()
    await link_account(desk, link())
    n = (await open_ticket(desk, form())).number
    from bot.commands import StaffPost
    from bot.tickets.conversation import staff_post

    await staff_post(desk, StaffPost(BOB, "e1", "Try this.", "ts1", ticket_number=n))
    desk.clock.advance(days=29)
    await sweep(desk)
    assert desk.uow.state.tickets[n].close_reason is CloseReason.INACTIVITY
    assert not [o for o in rows(desk, n) if o.payload.get("rating_buttons")]
    assert await refusal(rate(desk, ALICE, n, 5)) == f"Ticket #{n} cannot be rated."
    off = make_desk(rating_window=None)
    await link_account(off, link())
    m = (await open_ticket(off, form())).number
    await customer_close(off, CustomerClose(ALICE, m))
    assert not [o for o in rows(off, m) if o.payload.get("rating_buttons")]
