"""Delivering a batch in lanes: rows of one lane in order, different lanes side by side.

A port may name a lane for each delivery (the Slack port: the channel, each paced on its own).
Rows that share a lane keep the batch's order, which keeps order per ticket; a lane that waits
(for its channel's rate limit) holds back only itself. Ports without lanes deliver in order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import TypeVar

T = TypeVar("T")


async def in_lanes(items: Sequence[T], run: Callable[[T], Awaitable[None]],
                   lane_of: Callable[[T], Hashable] | None = None) -> None:
    if lane_of is None:
        for item in items:
            await run(item)
        return
    lanes: dict[Hashable, list[T]] = {}
    for item in items:
        lanes.setdefault(lane_of(item), []).append(item)

    async def drain(lane: list[T]) -> None:
        for item in lane:
            await run(item)

    # every lane runs to its end (none is cancelled mid-delivery); then the first failure is raised
    results = await asyncio.gather(*(drain(lane) for lane in lanes.values()), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
