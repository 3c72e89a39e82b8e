"""Pacing of Slack posts: a token bucket per channel.

Slack allows about one message a second per channel and tolerates short bursts above it; past
that it answers 429 with Retry-After. A bucket of `burst` tokens refilled at `rate` a second lets
a few messages go at once (a reply and its notice, two tickets answered together) and then
settles at the sustained rate. Each channel has its own bucket, so one busy product never slows
another; a 429 empties the channel's bucket until its Retry-After has passed.

Deliveries of several tickets wait on one channel's bucket at once (bot/delivery/lanes.py), and the
bucket serves them one token each in the order their posts became due: when the row was written,
but for a ticket's next post never before its previous post went out. So a backlog goes behind
every ticket already waiting (it cannot jump the queue with its old rows), and a ticket's next
post keeps the place it had when its previous one went out, even though the dispatcher asks for
it a moment later (after settling and leasing): no one waits more than one post of each other
waiting ticket, (tickets waiting) / rate seconds. Without the queue, every waiter slept until
the next token and the first to wake took it: a lane that asked again at once could win every
token and starve the others.
"""

from __future__ import annotations

import asyncio
import bisect
import math
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field

BURST, RATE = 4, 1.0  # Slack: ~1 message/s per channel, short bursts allowed
# how long a ticket's last token is remembered: its next post's place in the queue (longer after,
# an old row has waited long enough to come first)
REMEMBERED = 300.0


class ChannelHeld(Exception):
    """The channel may not receive anything for `retry_after` seconds (after a 429)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"channel held for {retry_after:.1f} s")
        self.retry_after = retry_after


@dataclass(eq=False)
class _Waiter:
    due: float  # when its post became due (the pacer's clock)
    turn: asyncio.Event = field(default_factory=asyncio.Event)  # set while it is first in the queue


@dataclass
class _Bucket:
    tokens: float
    at: float  # when `tokens` was last brought up to date
    paused_until: float = float("-inf")
    # who waits for a token, by when their post became due; the first one sleeps for the bucket
    queue: list[_Waiter] = field(default_factory=list)
    granted: dict[Hashable, float] = field(default_factory=dict)  # ticket -> its last token, oldest first


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

    async def take(self, channel: str, max_wait: float = math.inf, key: Hashable | None = None,
                   waited: float = 0.0) -> None:
        """Wait for `channel`'s next token after everyone whose post became due earlier, and take
        it. `key` names the ticket and `waited` says how long ago its post became due (its row was
        written). Raises ChannelHeld instead of waiting out a hold (a 429) longer than `max_wait`:
        the row goes back to the outbox. One's turn is not limited: the dispatcher renews the lease."""
        now = self._clock()
        bucket = self._bucket(channel, now)
        self._check_hold(bucket, max_wait)
        if not bucket.queue and self._try_take(channel) == 0:
            self._granted(bucket, key, now)
            return  # nobody waiting and a token left: no queue needed
        waiter = _Waiter(max(now - max(waited, 0.0), bucket.granted.get(key, -math.inf)))
        place = bisect.bisect_right(bucket.queue, waiter.due, key=lambda w: w.due)
        bucket.queue.insert(place, waiter)
        if place == 0:
            if len(bucket.queue) > 1:
                bucket.queue[1].turn.clear()  # due later: it waits for its turn again
            waiter.turn.set()
        try:
            while True:
                await waiter.turn.wait()
                if (wait := self._try_take(channel)) == 0:
                    break
                self._check_hold(bucket, max_wait)
                await self._sleep(wait)
            self._granted(bucket, key, self._clock())
        finally:
            first = bucket.queue[0] is waiter
            bucket.queue.remove(waiter)
            if first and bucket.queue:
                bucket.queue[0].turn.set()  # the next waiter's turn

    @staticmethod
    def _granted(bucket: _Bucket, key: Hashable | None, now: float) -> None:
        if key is None:
            return
        bucket.granted.pop(key, None)
        bucket.granted[key] = now
        while bucket.granted[oldest := next(iter(bucket.granted))] < now - REMEMBERED:  # `key` is newest
            del bucket.granted[oldest]

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
