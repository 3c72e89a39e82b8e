"""The Slack pacer on its own: a token bucket per channel with short bursts, its waiters
served in turn (by when their post became due), a 429's hold honoured.

Time is a manual clock: the pacer's sleeps are recorded (or held) instead of slept; VirtualTime
serves many sleepers at once."""

from __future__ import annotations

import asyncio

import pytest

from adapters.slack.pacing import ChannelHeld, ChannelPacer
from tests.slack.pacer_clocks import ManualTime, VirtualTime, pacer


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
