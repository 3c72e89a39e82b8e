"""A running SupportClient logged into a fresh FakeDiscord, over the in-memory desk."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from adapters.crypto import FernetCipher
from adapters.discord import DiscordCustomerPort, SupportClient, build_discord_client
from bot.delivery.outbox import Dispatcher
from bot.desk import Desk
from bot.domain import Target
from tests.core_helpers import make_desk
from tests.discord import payloads as p
from tests.discord.fake_discord import DiscordPyUrls, FakeDiscord
from tests.fakes import FakeStore, RecordingPort


@dataclass
class Rig:
    fake: FakeDiscord
    client: SupportClient
    desk: Desk
    store: FakeStore
    port: DiscordCustomerPort
    staff: RecordingPort
    dispatcher: Dispatcher


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    fake = FakeDiscord()
    await fake.start()
    urls = DiscordPyUrls()
    urls.aim(fake.url)
    store = FakeStore()
    desk = make_desk(store)
    client = build_discord_client(desk, guild_id=p.GUILD_ID, support_channel_id=p.SUPPORT_ID,
                                  cipher=FernetCipher.ephemeral(), guild_ready_timeout=0.1)
    client.stale_after = 0.5  # any handler that has not answered by then would be a bug
    await client.login("fake-token")
    task = asyncio.create_task(client.connect(reconnect=False))
    try:
        await asyncio.wait_for(client.wait_until_ready(), 5)
        port = DiscordCustomerPort(client, desk, p.SUPPORT_ID)
        staff = RecordingPort("s")
        dispatcher = Dispatcher(desk.uow, desk.clock, {Target.CUSTOMER: port, Target.STAFF: staff})  # type: ignore[dict-item]
        yield Rig(fake, client, desk, store, port, staff, dispatcher)
    finally:
        await client.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await fake.stop()
        urls.restore()
