"""The platform fakes served from their own thread and event loop, so that every task left in the
test's loop after the bot stops is the bot's own (the fakes' server tasks live elsewhere)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from tests.discord.fake_discord import FakeDiscord
from tests.slack.fake_slack import FakeSlack

T = TypeVar("T")


class ThreadedFakes:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fakes", daemon=True)
        self.slack = FakeSlack()
        self.discord = FakeDiscord()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def __aenter__(self) -> ThreadedFakes:
        self.thread.start()
        await asyncio.to_thread(self.run, self.slack.start())
        await asyncio.to_thread(self.run, self.discord.start())
        return self

    async def __aexit__(self, *_: object) -> None:
        await asyncio.to_thread(self.run, self.discord.stop())
        await asyncio.to_thread(self.run, self.slack.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        await asyncio.to_thread(self.thread.join, 10)
        self.loop.close()
