"""`supportbot doctor` against the local fakes of Slack, Discord, an SMTP server and a licence API:
all fine, then each broken setting named with what to do."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.fernet import Fernet

from adapters.discord.invite import bot_permissions
from storage.migrate import upgrade
from supportbot.doctor import doctor, run_checks
from supportbot.settings import Settings, load_settings
from tests.discord import payloads as p
from tests.discord.fake_discord import BOT_ROLE_ID, FakeDiscord
from tests.e2e_helpers import POLICY
from tests.slack.fake_slack import BOT_TOKEN, BOT_USER, FakeSlack
from tests.test_email import Inbox, free_port, serve


@dataclass
class Fakes:
    slack: FakeSlack
    discord: FakeDiscord
    settings: Settings

    def with_(self, **changes: Any) -> Settings:
        return self.settings.model_copy(update=changes)


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    # aiosmtpd's thread logs "connection lost" whenever it likes, maybe into a handler an earlier
    # test's `main()` left on a closed capture stream
    monkeypatch.setattr(logging.getLogger("mail.log"), "disabled", True)
    port = free_port()
    controller = serve(Inbox(), port)
    yield port
    controller.stop()


@pytest.fixture
async def licence_api() -> AsyncIterator[str]:
    async def licence(request: web.Request) -> web.Response:
        if request.match_info["key"] == "supportbot-doctor-probe":
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response({"email": "a@example.com", "product": "seo-suite", "expires_at": "2099-01-01"})

    app = web.Application()
    app.router.add_get("/licences/{key}", licence)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield f"http://127.0.0.1:{server.port}/licences/{{key}}"
    await server.close()


@pytest.fixture
async def fakes(tmp_path: Path, smtp: int, licence_api: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Fakes]:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    slack, discord = FakeSlack(), FakeDiscord()
    slack.members["C0CHK"].append(BOT_USER)  # invited into both staff channels
    await slack.start()
    await discord.start()
    policy = tmp_path / "supportbot.toml"
    policy.write_text(POLICY)
    db = f"sqlite+aiosqlite:///{tmp_path / 'doctor.db'}"
    await upgrade(db)
    settings = load_settings(
        _env_file=None, database_url=db, supportbot_config=policy,
        slack_bot_token=BOT_TOKEN, slack_app_token="xapp-test-app-token", slack_api_url=slack.api_url,
        discord_token="fake-discord-token", discord_guild_id=p.GUILD_ID, discord_support_channel_id=p.SUPPORT_ID,
        discord_api_url=f"{discord.url}/api/v10", smtp_host="127.0.0.1", smtp_port=smtp, smtp_tls=False,
        licence_api_url=licence_api, access_encryption_key=Fernet.generate_key().decode())
    try:
        yield Fakes(slack, discord, settings)
    finally:
        await discord.stop()
        await slack.stop()


async def failures(settings: Settings) -> dict[str, str]:
    return {name: detail for name, ok, detail in await run_checks(settings) if ok is False}


async def test_everything_fine(fakes: Fakes, capsys: pytest.CaptureFixture[str]) -> None:
    assert await doctor(fakes.settings) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "everything checked is fine"
    checks = [line.split(":")[0] for line in out[:-1]]
    assert checks == ["OK    policy", "OK    database", "OK    slack token", "OK    slack scopes",
                      "OK    slack channel #support-checkout", "OK    slack channel #support-seo",
                      "OK    slack socket mode", "OK    discord login", "OK    discord message content intent",
                      "OK    discord guild", "OK    discord support channel", "OK    discord permissions",
                      "OK    smtp", "OK    licence api"]


async def test_slack_failures_are_named(fakes: Fakes, capsys: pytest.CaptureFixture[str]) -> None:
    fakes.slack.members["C0SEO"].remove(BOT_USER)
    fakes.slack.scopes.remove("reactions:write")
    fakes.slack.channels.pop("support-checkout")
    fakes.slack.errors["apps.connections.open"] = ["invalid_auth"]
    found = await failures(fakes.settings)
    assert found["slack scopes"].startswith("missing reactions:write: add them from adapters/slack/manifest.yaml")
    assert found["slack channel #support-seo"] == "the bot is not a member: /invite @supportbot in #support-seo"
    assert found["slack channel #support-checkout"].startswith("not found: create it, or fix staff_channel")
    assert "SLACK_APP_TOKEN" in found["slack socket mode"]
    assert set(found) == {"slack scopes", "slack channel #support-seo", "slack channel #support-checkout",
                          "slack socket mode"}
    fakes.slack.errors["auth.test"] = ["invalid_auth"]
    assert await doctor(fakes.settings) == 1
    out = capsys.readouterr().out
    assert "FAIL  slack token: auth.test failed (invalid_auth): check SLACK_BOT_TOKEN" in out
    assert BOT_TOKEN not in out


async def test_discord_failures_are_named(fakes: Fakes) -> None:
    fakes.discord.application_flags = 0
    fakes.discord.bot_role_permissions = bot_permissions().value & ~discord.Permissions(
        manage_messages=True).value
    found = await failures(fakes.settings)
    assert found["discord message content intent"] == ("off: enable Message Content under Bot > Privileged "
                                                       "Gateway Intents")
    assert found["discord permissions"].startswith("missing in #support: manage_messages")
    assert set(found) == {"discord message content intent", "discord permissions"}

    # an override in the channel denies what the role grants
    fakes.discord.bot_role_permissions = bot_permissions().value
    fakes.discord.support_overwrites = [{"id": str(BOT_ROLE_ID), "type": 0, "allow": "0",
                                         "deny": str(discord.Permissions(attach_files=True).value)}]
    assert (await failures(fakes.settings))["discord permissions"].startswith("missing in #support: attach_files")

    found = await failures(fakes.with_(discord_support_channel_id=p.OTHER_CHANNEL_ID))
    assert "fix DISCORD_SUPPORT_CHANNEL_ID" in found["discord support channel"]
    found = await failures(fakes.with_(discord_guild_id=123))
    assert "fix DISCORD_GUILD_ID" in found["discord guild"]
    fakes.discord.fail_next("GET", "/users/@me", 401, {"message": "401: Unauthorized", "code": 0})
    found = await failures(fakes.settings)
    assert found["discord login"].startswith("refused (HTTP 401): copy the bot token")


async def test_database_smtp_and_licence_api_failures_are_named(fakes: Fakes, tmp_path: Path) -> None:
    found = await failures(fakes.with_(database_url=f"sqlite+aiosqlite:///{tmp_path / 'missing.db'}"))
    assert found["database"].endswith("run supportbot db upgrade")
    assert not (tmp_path / "missing.db").exists()  # the check created nothing
    behind = tmp_path / "behind.db"
    behind.touch()  # an empty database: no migration applied
    found = await failures(fakes.with_(database_url=f"sqlite+aiosqlite:///{behind}"))
    assert found["database"].startswith("schema at nothing, expected 0") and "run supportbot db upgrade" in found["database"]
    found = await failures(fakes.with_(database_url=f"postgresql+asyncpg://u:pw@127.0.0.1:{free_port()}/x"))
    assert found["database"].startswith("cannot connect") and "pw" not in found["database"]
    found = await failures(fakes.with_(smtp_port=free_port(), licence_api_url="http://127.0.0.1:9/{key}"))
    assert "check SMTP_HOST and SMTP_PORT" in found["smtp"]
    assert "check LICENCE_API_URL" in found["licence api"]
    assert set(found) == {"smtp", "licence api"}
    skipped = {name for name, ok, _ in await run_checks(fakes.with_(smtp_host=None, licence_api_url=None))
               if ok is None}
    assert skipped == {"smtp", "licence api"}
