"""Pacing of Slack posts: a token bucket per channel.

Slack allows about one message a second per channel and tolerates short bursts above it; past
that it answers 429 with Retry-After. A bucket of `burst` tokens refilled at `rate` a second lets
a few messages go at once (a reply and its notice, two tickets answered together) and then
settles at the sustained rate. Each channel has its own bucket, so one busy product never slows
another; a 429 empties the channel's bucket until its Retry-After has passed.

Deliveries of several tickets wait on one channel's bucket at once (bot/lanes.py), so the bucket
serves them in the order they asked, one token each: a ticket with a backlog asks again only after
its post went out (the dispatcher holds one row per ticket), so it goes behind every ticket already
waiting, and each waiting ticket's turn comes within (tickets waiting) / rate seconds. Without the
queue, every waiter slept until the next token and the first to wake took it: a lane that asked
again at once could win every token and starve the others.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

BURST, RATE = 4, 1.0  # Slack: ~1 message/s per channel, short bursts allowed


class ChannelHeld(Exception):
    """The channel may not receive anything for `retry_after` seconds (after a 429)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"channel held for {retry_after:.1f} s")
        self.retry_after = retry_after


@dataclass
class _Bucket:
    tokens: float
    at: float  # when `tokens` was last brought up to date
    paused_until: float = float("-inf")
    # who waits for a token, in the order they asked; the first one sleeps for the bucket
    queue: deque[asyncio.Future[None]] = field(default_factory=deque)


class ChannelPacer:
    def __init__(self, burst: int = BURST, rate: float = RATE, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        if burst < 1 or rate <= 0:
            raise ValueError("a pacer needs a burst of at least 1 and a positive rate")
        self.burst, self.rate = burst, rate
        self._clock, self._sleep = clock, sleep
        self._buckets: dict[str, _Bucket] = {}

    @classmethod
    def unpaced(cls) -> ChannelPacer:
        """Never waits (tests against a local fake, which has no limit to respect)."""
        return cls(burst=1, rate=math.inf)

    async def take(self, channel: str, max_wait: float = math.inf) -> None:
        """Wait for `channel`'s next token after those who asked before, and take it. Raises
        ChannelHeld instead of waiting out a hold (a 429) longer than `max_wait`: the row goes back
        to the outbox. Waiting one's turn is not limited: the dispatcher renews the lease meanwhile."""
        bucket = self._bucket(channel, self._clock())
        self._check_hold(bucket, max_wait)
        if not bucket.queue and self._try_take(channel) == 0:
            return  # nobody waiting and a token left: no queue needed
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        bucket.queue.append(turn)
        if bucket.queue[0] is turn:
            turn.set_result(None)
        try:
            await turn  # until every earlier waiter has its token (or gave up)
            while (wait := self._try_take(channel)) > 0:
                self._check_hold(bucket, max_wait)
                await self._sleep(wait)
        finally:
            first = bucket.queue[0] is turn
            bucket.queue.remove(turn)
            if first and bucket.queue and not bucket.queue[0].done():
                bucket.queue[0].set_result(None)  # the next waiter's turn

    def _check_hold(self, bucket: _Bucket, max_wait: float) -> None:
        held = bucket.paused_until - self._clock()
        if held > max_wait:
            raise ChannelHeld(held)

    def pause(self, channel: str, seconds: float) -> None:
        """Slack said 429: nothing more to `channel` for `seconds`; then one post, then the rate."""
        if math.isinf(self.rate):
            return  # unpaced: nothing to hold
        bucket = self._bucket(channel, self._clock())
        bucket.paused_until = max(bucket.paused_until, self._clock() + seconds)
        bucket.tokens, bucket.at = 1.0, bucket.paused_until

    def _bucket(self, channel: str, now: float) -> _Bucket:
        bucket = self._buckets.get(channel)
        if bucket is None:
            bucket = self._buckets[channel] = _Bucket(tokens=float(self.burst), at=now)
        return bucket

    def _try_take(self, channel: str) -> float:
        """0 if a token was taken, else the seconds until one may be."""
        now = self._clock()
        bucket = self._bucket(channel, now)
        if now < bucket.paused_until:
            return bucket.paused_until - now
        if math.isinf(self.rate):
            return 0.0
        bucket.tokens = min(float(self.burst), bucket.tokens + max(now - bucket.at, 0.0) * self.rate)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate
