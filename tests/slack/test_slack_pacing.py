"""Pacing per Slack channel (a token bucket with short bursts, its waiters served in turn), each
ticket in its own lane, 429 + Retry-After honoured, order per ticket kept, and one HTTP session
for every call.

Time is a manual clock: the pacer's sleeps are recorded (or held) instead of slept; VirtualTime
serves many sleepers at once."""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from adapters.slack.pacing import ChannelHeld, ChannelPacer
from bot.commands import CustomerPost
from bot.delivery.effects import emit
from bot.domain import OutboxStatus, Target
from bot.ports import Delivery, RetryLater
from bot.texts import Text
from bot.tickets.conversation import customer_post
from tests.core_helpers import ALICE
from tests.slack.fake_slack import FakeSlack, eventually
from tests.slack.harness import Harness, make_harness


class ManualTime:
    """A clock that only moves when the pacer sleeps; with `hold`, each sleep waits for release()."""

    def __init__(self, hold: bool = False) -> None:
        self.now, self.slept, self.hold = 0.0, [], hold
        self._release = asyncio.Event()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if self.hold:
            await self._release.wait()
        self.now += seconds

    def release(self) -> None:
        self._release.set()


class VirtualTime:
    """A clock for many sleepers at once: when every task waits, time jumps to the earliest wake-up."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._asked = 0  # equal wake-ups in the order they slept

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._asked += 1
        heapq.heappush(self._sleepers, (self.now + seconds, self._asked, woken))
        await woken

    async def run(self, *work: Awaitable[Any]) -> list[Any]:
        tasks = [asyncio.ensure_future(w) for w in work]
        while True:
            for _ in range(20):  # let every task run until it waits
                await asyncio.sleep(0)
            if all(t.done() for t in tasks):
                return [t.result() for t in tasks]
            assert self._sleepers, "every task waits and nobody sleeps: stuck"
            when, _, woken = heapq.heappop(self._sleepers)
            self.now = max(self.now, when)
            if not woken.done():
                woken.set_result(None)


def pacer(time: ManualTime | VirtualTime, burst: int = 4, rate: float = 1.0) -> ChannelPacer:
    return ChannelPacer(burst=burst, rate=rate, clock=time.clock, sleep=time.sleep)


async def test_a_burst_goes_at_once_then_one_a_second() -> None:
    time = ManualTime()
    p = pacer(time, burst=4, rate=1.0)
    for _ in range(4):
        await p.take("C1")
    assert time.slept == [] and time.now == 0.0  # the burst: no wait
    await p.take("C1")
    await p.take("C1")
    assert time.slept == [pytest.approx(1.0), pytest.approx(1.0)]  # then the sustained rate
    time.now += 10.0  # a quiet spell refills the bucket, up to the burst only
    for _ in range(4):
        await p.take("C1")
    assert len(time.slept) == 2
    await p.take("C1")
    assert len(time.slept) == 3


async def test_each_channel_has_its_own_bucket() -> None:
    time = ManualTime()
    p = pacer(time, burst=2)
    for _ in range(2):
        await p.take("C1")
    await p.take("C2")
    await p.take("C2")
    assert time.slept == []


async def test_a_429_holds_the_channel_for_retry_after() -> None:
    time = ManualTime()
    p = pacer(time, burst=4)
    p.pause("C1", 30.0)
    await p.take("C2")  # other channels are not held
    assert time.slept == []
    await p.take("C1")
    assert sum(time.slept) == pytest.approx(30.0)


async def test_a_backlog_does_not_take_every_token_from_a_newcomer() -> None:
    """Two lanes on one channel: one posts a backlog of 50, the other's first post comes within
    its fair share (2 lanes waiting at 1 post/s: 2 s), after at most one more of the backlog."""
    time = VirtualTime()
    p = pacer(time, burst=4, rate=1.0)
    posts: list[tuple[str, float]] = []

    async def backlog() -> None:
        for _ in range(50):
            await p.take("C1")
            posts.append(("backlog", time.now))

    async def newcomer() -> float:
        await time.sleep(6.5)  # writes while the backlog is being posted at the rate
        asked = time.now
        await p.take("C1")
        posts.append(("newcomer", time.now))
        return asked

    _, asked = await time.run(backlog(), newcomer())
    served = next(at for who, at in posts if who == "newcomer")
    assert served - asked <= 2 / 1.0
    assert [who for who, at in posts if asked <= at < served] == ["backlog"]
    assert len(posts) == 51 and time.now == pytest.approx(47.0)  # the rate is kept: 4 at once, then 1/s


async def test_waiters_are_served_in_the_order_they_asked() -> None:
    time = VirtualTime()
    p = pacer(time, burst=1, rate=2.0)
    await p.take("C1")  # the bucket is empty: everyone waits
    served: list[tuple[int, float]] = []

    async def lane(n: int) -> None:
        await time.sleep(n * 0.01)  # asks in this order
        await p.take("C1")
        served.append((n, time.now))
        await p.take("C1")  # asks again at once: behind everyone already waiting
        served.append((n, time.now))

    await time.run(*(lane(n) for n in range(4)))
    assert [n for n, _ in served] == [0, 1, 2, 3, 0, 1, 2, 3]
    assert [at for _, at in served] == pytest.approx([0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0])


async def test_a_ticket_s_next_post_keeps_its_place_and_a_backlog_never_jumps_the_queue() -> None:
    """The queue is by when a post became due: the chatty ticket's next row, written long ago, is
    due only once its previous post went out, so it goes behind the ticket already waiting then;
    a newcomer that wrote after that goes after it, though the next row was asked for later."""
    time = VirtualTime()
    p = pacer(time, burst=1, rate=1.0)
    await p.take("C1")  # the bucket is empty: every post waits for the rate
    served: list[tuple[str, float]] = []

    async def post(who: str, at: float, key: str, waited: float = 0.0) -> None:
        await time.sleep(at - time.now)
        await p.take("C1", key=key, waited=waited)
        served.append((who, time.now))

    async def chatty() -> None:
        await post("chatty 0", 0.0, "chatty", waited=60.0)
        # its next row: written a minute ago, asked for 0.3 s after chatty 0 went out (settle, lease)
        await post("chatty 1", time.now + 0.3, "chatty", waited=61.3)

    await time.run(chatty(), post("waiting", 0.01, "w"), post("newcomer", 1.1, "n"))
    assert [who for who, _ in served] == ["chatty 0", "waiting", "chatty 1", "newcomer"]
    assert [at for _, at in served] == pytest.approx([1.0, 2.0, 3.0, 4.0])


async def test_a_next_post_due_earlier_goes_before_the_one_sleeping_for_the_token() -> None:
    time = VirtualTime()
    p = pacer(time, burst=1, rate=1.0)
    served: list[tuple[str, float]] = []

    async def chatty() -> None:
        await p.take("C1", key="chatty", waited=30.0)  # the only token, at 0
        served.append(("chatty 0", time.now))
        await time.sleep(0.05)  # settle, lease: meanwhile a newcomer waits for the next token
        await p.take("C1", key="chatty", waited=30.05)  # due at 0, when chatty 0 went out
        served.append(("chatty 1", time.now))

    async def newcomer() -> None:
        await time.sleep(0.01)
        await p.take("C1", key="n")  # due at 0.01
        served.append(("newcomer", time.now))

    await time.run(chatty(), newcomer())
    assert [who for who, _ in served] == ["chatty 0", "chatty 1", "newcomer"]
    assert [at for _, at in served] == pytest.approx([0.0, 1.0, 2.0])


async def test_a_long_hold_turns_every_waiter_back_and_a_cancelled_one_holds_up_nobody() -> None:
    time = VirtualTime()
    p = pacer(time, burst=1, rate=1.0)
    await p.take("C1")

    async def waiter() -> str:
        try:
            await p.take("C1", max_wait=5.0)
        except ChannelHeld as held:
            return f"held {held.retry_after:.0f}"
        return f"posted at {time.now:.0f}"

    async def scenario() -> list[str]:
        first, second, third = (asyncio.ensure_future(waiter()) for _ in range(3))
        await asyncio.sleep(0)
        second.cancel()  # a delivery cancelled while waiting its turn
        assert await first == "posted at 1" and await third == "posted at 2"
        queued = [asyncio.ensure_future(waiter()) for _ in range(3)]
        await asyncio.sleep(0)
        p.pause("C1", 90.0)  # a 429 while three wait: none sleeps through it, all go back to the outbox
        return [await w for w in queued]

    [turned_back] = await time.run(scenario())
    assert turned_back == ["held 89", "held 89", "held 89"]


async def test_a_bad_pacer_is_refused() -> None:
    with pytest.raises(ValueError):
        ChannelPacer(burst=0)
    with pytest.raises(ValueError):
        ChannelPacer(rate=0)


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
