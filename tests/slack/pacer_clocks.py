"""Clocks for the Slack pacer's tests: its sleeps recorded or held (ManualTime), or many
sleepers served at once (VirtualTime); no test sleeps for real."""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Awaitable
from typing import Any

from adapters.slack.pacing import ChannelPacer


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
