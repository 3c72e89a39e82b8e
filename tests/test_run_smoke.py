"""`supportbot run` as a whole against both platform fakes: it connects, serves /health, runs the
outbox and the sweep, stops cleanly on SIGTERM, and leaves no task of its own behind."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import aiohttp
import pytest

from supportbot.platforms import run_platforms
from supportbot.settings import Settings
from tests.discord.fake_discord import DiscordPyUrls
from tests.e2e_helpers import e2e_settings, free_port
from tests.threaded_fakes import ThreadedFakes


async def health(port: int) -> dict | None:  # type: ignore[type-arg]
    try:
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/health") as response:
            return await response.json() if response.status == 200 else None
    except aiohttp.ClientError:
        return None


async def test_run_connects_serves_health_stops_on_sigterm_and_leaves_no_task(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    urls = DiscordPyUrls()
    try:
        async with ThreadedFakes() as fakes:
            health_port = free_port()
            settings = e2e_settings(tmp_path, fakes.slack, fakes.discord, free_port()).model_copy(
                update={"health_port": health_port})
            before = asyncio.all_tasks()
            running = asyncio.create_task(run_platforms(settings))
            async with asyncio.timeout(30):
                while (body := await health(health_port)) is None:
                    assert not running.done(), running.exception()
                    await asyncio.sleep(0.05)
                # connected to Discord's gateway: READY dispatched, discord.py's ready task started
                while not fakes.discord.sockets:
                    await asyncio.sleep(0.05)
            assert body == {"status": "ok", "database": "ok", "outbox_lag_seconds": 0.0}
            assert any(c.path.endswith("/users/@me") for c in fakes.discord.calls)  # logged in to Discord
            os.kill(os.getpid(), signal.SIGTERM)  # what a service manager sends
            async with asyncio.timeout(20):
                await running
            left = asyncio.all_tasks() - before - {asyncio.current_task()}
            assert [t.get_coro() for t in left] == []  # every task it started was awaited
            assert await health(health_port) is None  # everything it started is closed
    finally:
        urls.restore()
