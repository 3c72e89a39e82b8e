"""One thread's messages are stored in the order they came, though discord.py handles each event
in a task of its own (seen out of order on PostgreSQL before: 09 stored before 06)."""

from __future__ import annotations

import asyncio

from adapters.discord.turns import Turns


async def test_turns_are_first_come_first_served_per_key_and_forgotten_when_free() -> None:
    turns, order = Turns(), []

    async def handle(key: str, n: int, pause: float) -> None:
        async with turns.of(key):
            await asyncio.sleep(pause)  # the later ones are quicker: they would overtake without turns
            order.append((key, n))

    await asyncio.gather(*(handle("t1", n, 0.05 / (n + 1)) for n in range(5)), handle("t2", 0, 0))
    assert [n for key, n in order if key == "t1"] == [0, 1, 2, 3, 4]
    assert order[0] == ("t2", 0)  # another thread does not wait
    assert len(turns) == 0
