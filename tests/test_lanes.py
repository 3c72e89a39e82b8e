"""bot/delivery/lanes.py: rows of a lane in order, lanes side by side, and with `more` a flow: a lane that
is done takes the rows that came due without waiting for the slowest lane."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from bot.delivery.lanes import in_lanes

Row = tuple[str, int]  # (lane, number in the lane)


def lane(row: Row) -> str:
    return row[0]


async def test_without_lanes_rows_go_one_after_the_other() -> None:
    ran: list[Row] = []

    async def run(row: Row) -> None:
        ran.append(row)

    await in_lanes([("a", 0), ("b", 0), ("a", 1)], run)
    assert ran == [("a", 0), ("b", 0), ("a", 1)]


async def test_a_lane_that_is_done_takes_its_next_row_while_another_lane_still_waits() -> None:
    stuck, ran = asyncio.Event(), []
    due = {"y": 1}  # y's next row is due once y's previous one is done (as the outbox's claim does)

    async def run(row: Row) -> None:
        if row[0] == "x":
            await stuck.wait()  # a channel on hold, a slow download
        ran.append(row)

    async def more() -> Sequence[Row]:
        if ("y", due["y"] - 1) in ran and due["y"] < 4:
            due["y"] += 1
            return [("y", due["y"] - 1)]
        return []

    flow = asyncio.create_task(in_lanes([("x", 0), ("y", 0)], run, lane, more))
    async with asyncio.timeout(2):
        while len(ran) < 4:
            await asyncio.sleep(0)
    assert ran == [("y", 0), ("y", 1), ("y", 2), ("y", 3)] and not flow.done()
    stuck.set()
    await flow
    assert ran[-1] == ("x", 0)


async def test_rows_that_arrive_while_every_lane_waits_start_at_once() -> None:
    stuck, arrivals, ran = asyncio.Event(), asyncio.Event(), []
    due: list[Row] = []

    async def run(row: Row) -> None:
        if row[0] == "x":
            await stuck.wait()
        ran.append(row)

    async def more() -> Sequence[Row]:
        batch = list(due)
        due.clear()
        return batch

    flow = asyncio.create_task(in_lanes([("x", 0)], run, lane, more, arrivals))
    await asyncio.sleep(0.01)
    due.append(("new", 0))
    arrivals.set()  # a commit added rows: no lane has finished to ask for them
    async with asyncio.timeout(2):
        while ("new", 0) not in ran:
            await asyncio.sleep(0)
    assert not flow.done()
    stuck.set()
    await flow


async def test_a_failure_stops_the_refills_and_is_raised_once_every_lane_is_done() -> None:
    ran: list[Row] = []
    asked = 0

    async def run(row: Row) -> None:
        await asyncio.sleep(0.01 if row[0] == "slow" else 0)
        if row[0] == "bad":
            raise RuntimeError("settle failed")
        ran.append(row)

    async def more() -> Sequence[Row]:
        nonlocal asked
        asked += 1
        return [("new", asked)]

    with pytest.raises(RuntimeError, match="settle failed"):
        await in_lanes([("bad", 0), ("slow", 0), ("slow", 1)], run, lane, more)
    assert ("slow", 1) in ran  # not cancelled mid-way by the other lane's failure
    assert asked == 0  # the failure came first: nothing more was taken on


async def test_cancelling_the_flow_cancels_its_lanes() -> None:
    stuck = asyncio.Event()

    async def run(row: Row) -> None:
        await stuck.wait()

    flow = asyncio.create_task(in_lanes([("a", 0), ("b", 0)], run, lane))
    await asyncio.sleep(0.01)
    flow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await flow
    assert not [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()
                and "drain" in repr(t.get_coro())]
