"""Helpers for the end-to-end test: settings that point the real composition root at the local
fakes, signed Slack events over real HTTP, and delivering the outbox until a condition holds."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from cryptography.fernet import Fernet

from adapters.slack.runner import EVENTS_PATH
from bot.delivery.outbox import Dispatcher
from bot.domain import Licence
from supportbot.settings import Settings, load_settings
from tests.discord import payloads as p
from tests.discord.fake_discord import FakeDiscord
from tests.slack.fake_slack import BOT_TOKEN, FakeSlack
from tests.slack.harness import SECRET, event_body, sign

T = TypeVar("T")

# Thursday 3 December 2026, 10:00 at UTC+1: inside the policy's working hours
WORKING_HOURS = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
LICENCES = [Licence("SEO-ALICE", "alice@example.com", "seo-suite", datetime(2027, 6, 1, tzinfo=UTC))]

# The staff channels must be names the FakeSlack lists in conversations.list.
POLICY = """
[calendar]
timezone = "+01:00"
hours.mon = ["09:00-12:00", "14:00-18:00"]
hours.tue = ["09:00-12:00", "14:00-18:00"]
hours.wed = ["09:00-12:00", "14:00-18:00"]
hours.thu = ["09:00-12:00", "14:00-18:00"]
hours.fri = ["09:00-12:00", "14:00-18:00"]

[sla]
response = "4h"

[[product]]
sku = "seo-suite"
name = "SEO Suite"
staff_channel = "support-seo"
manual = [{ title = "Sitemap settings", url = "https://docs.example.com/seo/sitemap", keywords = ["sitemap", "xml"] }]

[[product]]
sku = "one-step-checkout"
name = "One Step Checkout"
staff_channel = "support-checkout"
"""


def free_port() -> int:
    """A port free on all interfaces (start_slack binds 0.0.0.0 and does not hand back port 0's pick)."""
    with socket.socket() as sock:
        sock.bind(("", 0))
        port: int = sock.getsockname()[1]
        return port


def e2e_settings(tmp_path: Path, slack: FakeSlack, discord: FakeDiscord, slack_port: int) -> Settings:
    policy = tmp_path / "supportbot.toml"
    policy.write_text(POLICY, encoding="utf-8")
    return load_settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'supportbot.db'}",
        supportbot_config=policy,
        slack_bot_token=BOT_TOKEN, slack_signing_secret=SECRET, slack_http_port=slack_port,
        slack_api_url=slack.api_url,
        discord_token="fake-discord-token", discord_guild_id=p.GUILD_ID, discord_support_channel_id=p.SUPPORT_ID,
        discord_api_url=f"{discord.url}/api/v10", discord_gateway_url=discord.url.replace("http", "ws") + "/gateway",
        access_encryption_key=Fernet.generate_key().decode(),
    )


async def post_slack_event(port: int, event: dict[str, Any], event_id: str) -> int:
    """POST a signed events_api callback to the bot's HTTP endpoint, as Slack does; returns the status."""
    body = event_body(event, event_id)
    async with aiohttp.ClientSession() as session:
        async with session.post(f"http://127.0.0.1:{port}{EVENTS_PATH}", data=body.encode(),
                                headers=sign(body, "application/json")) as response:
            return response.status


async def deliver_until(dispatcher: Dispatcher, check: Callable[[], T | None], within: float = 5.0) -> T:
    """Deliver the outbox until check() is truthy. A listener's commit sets the wake event; the short
    timeout covers a commit that lands between a pass and the clear."""
    async with asyncio.timeout(within):
        while True:
            await dispatcher.run_once()
            if result := check():
                return result
            dispatcher.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(dispatcher.wake.wait(), 0.05)
