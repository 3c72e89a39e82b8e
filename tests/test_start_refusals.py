"""Refusals found while starting in-process: a busy port names its setting; `discord invite-url`
without a network or with a rejected token says so; a bad --application-id is refused. Whatever
was started before the refusal is closed: no task of the bot is left behind."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from supportbot.cli import main
from supportbot.platforms import run_platforms
from supportbot.settings import Settings, load_settings
from supportbot.startup import StartupRefused
from tests.discord.fake_discord import DiscordPyUrls
from tests.e2e_helpers import POLICY
from tests.process_helpers import closed_port
from tests.slack.fake_slack import BOT_TOKEN
from tests.slack.harness import SECRET
from tests.threaded_fakes import ThreadedFakes


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    urls = DiscordPyUrls()
    yield
    urls.restore()


def said(err: str) -> str:
    """What the command printed, without the log lines of the fakes serving in this process."""
    return "\n".join(line for line in err.strip().splitlines() if not line[:4].isdigit())


def busy_port() -> socket.socket:
    sock = socket.socket()
    sock.bind(("0.0.0.0", 0))
    sock.listen()
    return sock


@pytest.mark.parametrize("setting", ["SLACK_HTTP_PORT", "HEALTH_PORT"])
async def test_a_busy_port_is_one_sentence_naming_the_setting(tmp_path: Path, setting: str) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY, encoding="utf-8")
    with busy_port() as busy:
        port = busy.getsockname()[1]
        async with ThreadedFakes() as fakes:
            free = socket.socket()
            free.bind(("0.0.0.0", 0))
            other = free.getsockname()[1]
            free.close()
            settings = load_settings(
                _env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path}/bot.db", supportbot_config=policy,
                slack_bot_token=BOT_TOKEN, slack_signing_secret=SECRET, slack_api_url=fakes.slack.api_url,
                slack_http_port=port if setting == "SLACK_HTTP_PORT" else other,
                health_port=port if setting == "HEALTH_PORT" else None)
            before = asyncio.all_tasks()
            with pytest.raises(StartupRefused) as caught:
                await run_platforms(settings)
            assert asyncio.all_tasks() - before - {asyncio.current_task()} == set()
    assert str(caught.value) == (f"{setting}={port}: the port is already in use by another program; "
                                 "stop that program or choose another port")


def test_invite_url_rejects_an_application_id_that_is_not_a_discord_id(capsys: pytest.CaptureFixture[str]) -> None:
    for bad in ("-5", "12", "abc"):
        with pytest.raises(SystemExit) as caught:
            main(["discord", "invite-url", "--application-id", bad])
        assert caught.value.code == 2
        assert "is not a Discord application id (17 to 20 digits" in capsys.readouterr().err


def test_invite_url_without_network_says_to_pass_the_application_id(monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    api = f"http://127.0.0.1:{closed_port()}/api/v10"
    monkeypatch.setenv("DISCORD_TOKEN", "fake-discord-token")
    monkeypatch.setenv("DISCORD_API_URL", api)
    assert main(["discord", "invite-url"]) == 1
    err = said(capsys.readouterr().err)
    assert err.startswith(f"cannot reach Discord at {api} (") and err.endswith(
        "pass --application-id (Developer Portal, General Information, Application ID)")
    assert "Traceback" not in err and len(err.splitlines()) == 1


async def test_invite_url_with_a_rejected_token_says_so(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    async with ThreadedFakes() as fakes:
        fakes.discord.fail_next("GET", "/users/@me", 401, {"message": "401: Unauthorized", "code": 0})
        monkeypatch.setenv("DISCORD_TOKEN", "fake-discord-token")
        monkeypatch.setenv("DISCORD_API_URL", f"{fakes.discord.url}/api/v10")
        assert await asyncio.to_thread(main, ["discord", "invite-url"]) == 2
    assert said(capsys.readouterr().err) == ("Discord rejected DISCORD_TOKEN (401 Unauthorized): copy the token "
                                               "again from the Developer Portal (Bot, Reset Token); or pass "
                                               "--application-id")


async def test_a_gateway_that_refuses_the_intents_stops_the_bot_with_a_sentence(tmp_path: Path) -> None:
    from tests.discord import payloads as p

    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY, encoding="utf-8")
    async with ThreadedFakes() as fakes:
        fakes.discord.identify_close_code = 4014  # Message Content intent not enabled in the portal
        settings = load_settings(
            _env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path}/bot.db", supportbot_config=policy,
            discord_token="fake-discord-token", discord_guild_id=p.GUILD_ID, discord_support_channel_id=p.SUPPORT_ID,
            discord_api_url=f"{fakes.discord.url}/api/v10",
            discord_gateway_url=fakes.discord.url.replace("http", "ws") + "/gateway")
        before = asyncio.all_tasks()
        with pytest.raises(StartupRefused) as caught:
            async with asyncio.timeout(60):
                await run_platforms(settings)
        assert asyncio.all_tasks() - before - {asyncio.current_task()} == set()
    assert str(caught.value) == ("Discord refused the gateway connection: turn on the Message Content intent "
                                 "(Developer Portal, Bot, Privileged Gateway Intents)")
