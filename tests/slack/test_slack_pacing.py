"""Pacing through the Slack port against the fake Slack: each ticket in its own lane, 429 +
Retry-After honoured, order per ticket kept, and one HTTP session for every call (the pacer on
its own: test_slack_pacer.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from bot.commands import CustomerPost
from bot.delivery.effects import emit
from bot.domain import OutboxStatus, Target
from bot.ports import Delivery, RetryLater
from bot.texts import Text
from bot.tickets.conversation import customer_post
from tests.core_helpers import ALICE
from tests.slack.fake_slack import FakeSlack, eventually
from tests.slack.harness import Harness, make_harness
from tests.slack.pacer_clocks import ManualTime, pacer


async def test_slack_429_retry_after_pauses_the_channel(h: Harness) -> None:
    n = await h.open()
    time = ManualTime()
    h.slack.port.pacer = pacer(time)
    h.fake.rate_limit.append("3")
    text = Text("customer_closed_note", {"name": "Alice"}).as_dict()
    with pytest.raises(RetryLater) as raised:
        await h.slack.port.deliver(Delivery(70, "post", {"text": text}, h.ticket(n), None))
    assert raised.value.retry_after == 3.0
    await h.slack.port.deliver(Delivery(70, "post", {"text": text}, h.ticket(n), None))
    assert sum(time.slept) == pytest.approx(3.0)  # the retry waited out Retry-After, no second 429


async def test_a_long_hold_gives_the_row_back_instead_of_sleeping(h: Harness) -> None:
    n = await h.open()
    time = ManualTime()
    h.slack.port.pacer = pacer(time)
    h.slack.port.pacer.pause("C0SEO", 90.0)  # a long Retry-After: longer than a sleep may last
    posts = len(h.fake.called("chat.postMessage"))
    text = Text("customer_closed_note", {"name": "Alice"}).as_dict()
    with pytest.raises(RetryLater) as raised:
        await h.slack.port.deliver(Delivery(71, "post", {"text": text}, h.ticket(n), None))
    assert raised.value.retry_after == pytest.approx(90.0) and time.slept == []
    assert len(h.fake.called("chat.postMessage")) == posts  # nothing sent to a held channel


async def _customer_posts(h: Harness, count: int, number: int, prefix: str) -> None:
    for i in range(count):
        await customer_post(h.desk, CustomerPost(ALICE, f"{prefix}-{i}", f"{prefix} {i}", ticket_number=number))


def _posted(h: Harness, channel: str) -> list[str]:
    return [p["text"] for p in h.fake.called("chat.postMessage") if p["channel"] == channel]


async def _until(check: Callable[[], bool]) -> None:
    await eventually(check, timeout=10.0)


async def test_a_waiting_channel_does_not_hold_back_another(h: Harness) -> None:
    first, second = await h.open(), await h.open(subject="Checkout button hidden")
    # the second ticket's thread lives in another channel (as a ticket of another product would)
    h.store.state.tickets[second].staff_thread_ref = "C0CHK:1700000999.000100"
    time = ManualTime(hold=True)
    h.slack.port.pacer = pacer(time, burst=1)
    h.slack.port.pacer.pause("C0SEO", 3.0)  # the first channel is held (as after a 429)
    await _customer_posts(h, 1, first, "seo")  # older than the other channel's row
    await _customer_posts(h, 1, second, "chk")
    run = asyncio.create_task(h.dispatcher.run_once())
    try:
        await _until(lambda: any("chk 0" in t for t in _posted(h, "C0CHK")))
        assert not any("seo 0" in t for t in _posted(h, "C0SEO"))  # still waiting for its bucket
        time.release()
        await asyncio.wait_for(run, timeout=10)
    finally:
        run.cancel()
    assert any("seo 0" in t for t in _posted(h, "C0SEO"))
    assert all(o.status is OutboxStatus.DELIVERED for o in h.store.state.outbox.values())


async def test_what_is_not_paced_waits_for_no_other_ticket_s_posts(h: Harness) -> None:
    """Each ticket is its own lane: a card update in a channel whose bucket is empty goes at once,
    while another ticket's post in that channel waits for its token."""
    first, second = await h.open(), await h.open(subject="Checkout button hidden")
    time = ManualTime(hold=True)
    h.slack.port.pacer = pacer(time, burst=1)
    h.slack.port.pacer.pause("C0SEO", 3.0)  # the channel waits (as after a 429)
    await _customer_posts(h, 1, first, "waiting")
    async with h.desk.uow() as uow:  # older rows first: the post, then the other ticket's card update
        await emit(uow, h.clock.now(), Target.STAFF, "card_update", h.ticket(second))
        await uow.commit()
    run = asyncio.create_task(h.dispatcher.run_once())
    try:
        await _until(lambda: bool(h.fake.called("chat.update")))
        assert not any("waiting 0" in t for t in _posted(h, "C0SEO"))
        time.release()
        await asyncio.wait_for(run, timeout=10)
    finally:
        run.cancel()
    assert any("waiting 0" in t for t in _posted(h, "C0SEO"))


async def test_order_per_ticket_is_kept_in_a_busy_channel(h: Harness) -> None:
    subjects = ("Sitemap is empty", "Checkout button hidden", "Images load slowly")
    tickets = [await h.open(subject=subject) for subject in subjects]
    h.slack.port.pacer = pacer(ManualTime(), burst=3)
    for round_ in range(4):
        for n in tickets:
            await customer_post(h.desk, CustomerPost(ALICE, f"{n}-{round_}", f"ticket {n} message {round_}",
                                                     ticket_number=n))
    await h.dispatcher.run_once()
    texts = _posted(h, "C0SEO")
    for n in tickets:
        mine = [t for t in texts if f"ticket {n} message" in t]
        assert mine == sorted(mine) and len(mine) == 4
    # the tickets take turns: no ticket's backlog goes out before another ticket's first message
    firsts = [next(i for i, t in enumerate(texts) if f"ticket {n} message 0" in t) for n in tickets]
    lasts = [next(i for i, t in enumerate(texts) if f"ticket {n} message 3" in t) for n in tickets]
    assert max(firsts) < min(lasts)


async def test_every_call_shares_one_http_session_closed_on_stop(fake: FakeSlack) -> None:
    h = await make_harness(fake)
    try:
        n = await h.open()
        await _customer_posts(h, 3, n, "hello")
        await h.dispatcher.run_once()
        await h.command("")  # bolt's own calls (auth.test) use the same client session
        assert len(fake.calls) >= 5
        assert len(set(fake.peers)) == 1, fake.peers  # one connection, reused: no handshake per call
    finally:
        await h.slack.close()
    assert h.slack.session.closed and h.slack.client.session is h.slack.session
