"""The catch-up reads the most recently active threads first: a ticket's latest change, or the
latest message its people wrote on that side (the ticket keeps no copy of that time)."""

from __future__ import annotations

from bot.commands import Customer, CustomerPost
from bot.customers.accounts import link_account
from bot.delivery.catch_up import open_threads
from bot.tickets.conversation import customer_post
from bot.tickets.opening import open_ticket
from tests.core_helpers import ALICE, form, link, make_desk, make_dispatcher

CAROL = Customer("discord", "u-carol", "Carol", "en")


async def test_the_thread_written_in_last_is_read_first() -> None:
    desk = make_desk()
    for who, email, key in ((ALICE, "alice@example.com", "SEO-ALICE"), (CAROL, "carol@example.com", "SEO-CAROL")):
        await link_account(desk, link(who, email, key))
    alice = (await open_ticket(desk, form(ALICE))).number
    desk.clock.advance(minutes=5)  # type: ignore[attr-defined]
    carol = (await open_ticket(desk, form(CAROL, subject="Prices wrong"))).number
    dispatcher, *_ = make_dispatcher(desk)
    await dispatcher.run_once()  # the threads
    assert [t.number for t in await open_threads(desk, "customer")] == [carol, alice]  # opened last
    desk.clock.advance(hours=1)  # type: ignore[attr-defined]
    [thread] = [t.thread_ref for t in await open_threads(desk, "customer") if t.number == alice]
    await customer_post(desk, CustomerPost(ALICE, "m1", "Any news?", thread_ref=thread))
    assert [t.number for t in await open_threads(desk, "customer")] == [alice, carol]  # written in last
