"""`supportbot run` as a whole against both platform fakes: it connects, serves /health, runs the
outbox and the sweep, and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import aiohttp
import discord
import pytest

from supportbot.platforms import run_platforms
from supportbot.settings import Settings
from tests.discord.fake_discord import FakeDiscord
from tests.e2e_helpers import e2e_settings, free_port
from tests.slack.fake_slack import FakeSlack


async def health(port: int) -> dict | None:  # type: ignore[type-arg]
    try:
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/health") as response:
            return await response.json() if response.status == 200 else None
    except aiohttp.ClientError:
        return None


async def test_run_connects_serves_health_and_stops_on_sigterm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    slack, fake_discord = FakeSlack(), FakeDiscord()
    await slack.start()
    await fake_discord.start()
    try:
        health_port = free_port()
        settings = e2e_settings(tmp_path, slack, fake_discord, free_port()).model_copy(
            update={"health_port": health_port})
        running = asyncio.create_task(run_platforms(settings))
        async with asyncio.timeout(10):
            while (body := await health(health_port)) is None:
                assert not running.done(), running.exception()
                await asyncio.sleep(0.05)
        assert body == {"status": "ok", "database": "ok", "outbox_lag_seconds": 0.0}
        assert any(c.path.endswith("/users/@me") for c in fake_discord.calls)  # logged in to Discord
        os.kill(os.getpid(), signal.SIGTERM)  # what a service manager sends
        async with asyncio.timeout(10):
            await running
        assert await health(health_port) is None  # everything it started is closed
    finally:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved
        await fake_discord.stop()
        await slack.stop()
