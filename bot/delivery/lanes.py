"""Delivering in lanes: rows of one lane in order, different lanes side by side.

A port may name a lane for each delivery (the Slack port: the ticket; its posts to a channel
then wait their turn in the channel's bucket). Rows that share a lane keep the batch's order,
which keeps order per ticket; a lane that waits (for its channel's rate limit, a download) holds
back only itself. Ports without lanes deliver in order.

With `more`, delivery is a flow rather than batches: each time a row is done, and each time
`arrivals` is set (a commit added rows), `more()` is asked for the rows that became due (the
next row of the ticket just served, the first row of a ticket that just wrote), and they start
at once. Batch after batch, a ticket's next row waited for the slowest lane of the batch (another
channel's queue, a slow download), and a newcomer for a whole round of every other ticket and
then behind their next rows as well (older, so leased first). As a flow, each row starts about
when it becomes due, so rows meet in the channel's bucket in that order and take turns there:
no ticket waits behind another ticket's backlog.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
K = TypeVar("K")
HEAD_START = 0.25  # seconds the first platform of a pass is served alone


async def first_then_side_by_side(runs: dict[K, Coroutine[Any, Any, int]], first: K) -> list[int]:
    """Each platform's run in its own task; `first` (the customer's) with a head start: a staff
    answer reaches the customer before the card is redrawn, not competing with it for the loop
    and the database, while a slow first platform holds the others back at most HEAD_START."""
    if len(runs) == 1:  # one platform got rows: no task of its own needed
        return [await runs.popitem()[1]]
    tasks = {}
    if first in runs:
        tasks[first] = asyncio.ensure_future(runs.pop(first))
        await asyncio.wait(tasks.values(), timeout=HEAD_START)
    tasks.update({key: asyncio.ensure_future(run) for key, run in runs.items()})
    return list(await asyncio.gather(*tasks.values()))


async def in_turn(runs: dict[K, Coroutine[Any, Any, int]]) -> list[int]:
    return [await run for run in runs.values()]


async def in_lanes(items: Sequence[T], run: Callable[[T], Awaitable[None]],
                   lane_of: Callable[[T], Hashable] | None = None,
                   more: Callable[[], Awaitable[Sequence[T]]] | None = None,
                   arrivals: asyncio.Event | None = None) -> None:
    if lane_of is None:
        for item in items:
            await run(item)
        return
    queues: dict[Hashable, deque[T]] = {}
    tasks: set[asyncio.Task[None]] = set()
    failures: list[BaseException] = []
    refill: asyncio.Task[None] | None = None
    wanted = False

    async def drain(lane: Hashable) -> None:
        queue = queues[lane]
        try:
            while queue:
                await run(queue.popleft())
                ask()
        finally:
            del queues[lane]  # no await since the last look at the queue: nothing is added unseen

    def start(batch: Sequence[T]) -> None:
        for item in batch:
            lane = lane_of(item)
            if lane in queues:
                queues[lane].append(item)
            else:
                queues[lane] = deque([item])
                tasks.add(asyncio.create_task(drain(lane)))

    async def refilling() -> None:
        nonlocal wanted
        assert more is not None
        while wanted and not failures:
            wanted = False  # deliveries done while `more` runs ask once more, not once each
            start(await more())

    def ask() -> None:
        nonlocal wanted, refill
        if more is None or failures:
            return
        wanted = True
        if refill is None or refill.done():
            refill = asyncio.create_task(refilling())
            tasks.add(refill)

    async def watch(event: asyncio.Event) -> None:
        while True:
            await event.wait()
            event.clear()
            ask()

    start(items)
    watcher = asyncio.create_task(watch(arrivals)) if arrivals is not None and more is not None else None
    try:
        while tasks:
            done, _ = await asyncio.wait(set(tasks), return_when=asyncio.FIRST_COMPLETED)
            tasks.difference_update(done)
            # a failure stops the asking; every lane still runs to the end of what it holds (none
            # is cancelled mid-delivery); then the first failure is raised
            failures.extend(e for task in done if (e := task.exception()) is not None)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    finally:
        if watcher is not None:
            watcher.cancel()
    if failures:
        raise failures[0]
