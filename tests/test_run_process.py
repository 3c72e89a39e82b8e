"""`supportbot run` as a process against local fakes: a rejected token ends in one sentence and a
non-zero status; an unreachable platform is retried, one line per attempt, and SIGTERM or SIGINT
stops it within seconds at any moment (while waiting, or in the middle of a silent request)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from tests.discord import payloads as p
from tests.discord.fake_discord import FakeDiscord
from tests.process_helpers import base_env, closed_port, silent_server, supportbot
from tests.slack.fake_slack import APP_TOKEN, BOT_TOKEN, FakeSlack

STOP_WITHIN = 10.0  # seconds from the signal to the exit, generous for a shared CPU


def slack_env(tmp_path: Path, api_url: str) -> dict[str, str]:
    return base_env(tmp_path, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=APP_TOKEN, SLACK_API_URL=api_url)


def discord_env(tmp_path: Path, base: str) -> dict[str, str]:
    return base_env(tmp_path, DISCORD_TOKEN="fake-discord-token", DISCORD_GUILD_ID=str(p.GUILD_ID),
                    DISCORD_SUPPORT_CHANNEL_ID=str(p.SUPPORT_ID), DISCORD_API_URL=f"{base}/api/v10",
                    DISCORD_GATEWAY_URL=base.replace("http", "ws") + "/gateway")


@pytest.mark.parametrize(("method", "setting"), [("auth.test", "SLACK_BOT_TOKEN"),
                                                 ("apps.connections.open", "SLACK_APP_TOKEN")])
async def test_a_rejected_slack_token_is_one_sentence_and_a_failure(tmp_path: Path, method: str, setting: str):
    fake = await FakeSlack().start()
    fake.errors[method] = ["invalid_auth"]
    try:
        async with supportbot(tmp_path, "run", env=slack_env(tmp_path, fake.api_url)) as bot:
            assert await bot.exit_code() == 2
    finally:
        await fake.stop()
    assert f"cannot start: Slack rejected {setting} (invalid_auth)" in bot.output
    assert "Traceback" not in bot.output and "Retrying" not in bot.output


async def test_a_rejected_discord_token_is_one_sentence_and_a_failure(tmp_path: Path):
    fake = FakeDiscord()
    await fake.start()
    fake.fail_next("GET", "/users/@me", 401, {"message": "401: Unauthorized", "code": 0})
    try:
        async with supportbot(tmp_path, "run", env=discord_env(tmp_path, fake.url)) as bot:
            assert await bot.exit_code() == 2
    finally:
        await fake.stop()
    assert "cannot start: Discord rejected DISCORD_TOKEN (401 Unauthorized)" in bot.output
    assert "Traceback" not in bot.output


@pytest.mark.parametrize("platform", ["Slack", "Discord"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_a_refused_connection_is_retried_one_line_each_until_a_signal(tmp_path: Path, platform: str,
                                                                           sig: signal.Signals):
    base = f"http://127.0.0.1:{closed_port()}"
    env = slack_env(tmp_path, f"{base}/api/") if platform == "Slack" else discord_env(tmp_path, base)
    async with supportbot(tmp_path, "run", env=env) as bot:
        await bot.wait_for(lambda lines: sum(f"cannot reach {platform}" in line for line in lines) >= 2)
        bot.signal(sig)
        assert await bot.exit_code(within=STOP_WITHIN) == 0
    attempts = [line for line in bot.lines if f"cannot reach {platform}" in line]
    assert "attempt 1 failed, retrying in 1 s" in attempts[0] and "attempt 2 failed, retrying in 2 s" in attempts[1]
    assert "Traceback" not in bot.output
    assert "will be unused" not in bot.output and "PyNaCl" not in bot.output  # no library noise


@pytest.mark.parametrize("platform", ["Slack", "Discord"])
async def test_a_silent_server_does_not_hold_the_stop(tmp_path: Path, platform: str):
    async with silent_server() as silent:
        base = f"http://127.0.0.1:{silent.port}"
        env = slack_env(tmp_path, f"{base}/api/") if platform == "Slack" else discord_env(tmp_path, base)
        async with supportbot(tmp_path, "run", env=env) as bot:
            async with asyncio.timeout(60):  # the bot's request is in flight, unanswered
                while not silent.held:
                    assert bot.process.returncode is None, bot.output
                    await asyncio.sleep(0.05)
            bot.signal(signal.SIGTERM)
            assert await bot.exit_code(within=STOP_WITHIN) == 0
    assert "Traceback" not in bot.output
