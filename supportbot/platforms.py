"""`supportbot run` with Slack and/or Discord: adapters, outbox dispatcher and sweep in one loop.

Customers on Discord, staff on Slack. Several processes may share one PostgreSQL, each serving
what it is configured for (e.g. Slack over HTTP in many, the Discord gateway in one).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from typing import Any

import discord
import yarl

from adapters.discord.client import build_discord_client
from adapters.discord.invite import invite_url
from adapters.discord.port import DiscordCustomerPort
from adapters.email.smtp import SmtpMailer
from adapters.slack.runner import build_slack, start_slack
from bot.domain import Attachment, Target
from bot.ports import DeliveryPort
from supportbot.bootstrap import Runtime, build_runtime
from supportbot.clock import SystemClock
from supportbot.health import start_health
from supportbot.settings import Settings
from supportbot.timers_wiring import start_scheduler

log = logging.getLogger(__name__)


def _secret(value: Any) -> str:
    return value.get_secret_value() if value is not None else ""


def point_discord_at(settings: Settings) -> None:
    """DISCORD_API_URL / DISCORD_GATEWAY_URL, so the bot can run against a local fake Discord."""
    discord.http.Route.BASE = settings.discord_api_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


async def start_platforms(runtime: Runtime) -> dict[Target, DeliveryPort]:
    """Connect what is configured; returns the delivery ports. Connections are closed by runtime.close()."""
    settings, desk = runtime.settings, runtime.desk
    # Only what is configured gets a port: rows for a platform this process does not serve
    # stay in the outbox for the process (or the restart) that does, never dropped.
    ports: dict[Target, DeliveryPort] = {}
    fetch_file = None
    if settings.slack_enabled:
        slack = build_slack(desk, token=_secret(settings.slack_bot_token),
                            signing_secret=_secret(settings.slack_signing_secret) or None,
                            api_url=settings.slack_api_url, usergroup=settings.slack_staff_usergroup,
                            cipher=runtime.cipher)
        runtime.closers.append(slack.close)  # closers run last-in first-out: the session outlives the connection
        connection = await start_slack(slack.app, app_token=_secret(settings.slack_app_token) or None,
                                       http_port=settings.slack_http_port)
        runtime.closers.append(connection.close)
        ports[Target.STAFF] = slack.port

        async def fetch_slack(attachment: Attachment) -> bytes:
            return await slack.download_file(attachment.url)

        fetch_file = fetch_slack
    if settings.discord_enabled:
        if settings.discord_guild_id is None or settings.discord_support_channel_id is None:
            raise SystemExit("DISCORD_GUILD_ID and DISCORD_SUPPORT_CHANNEL_ID must be set with DISCORD_TOKEN")
        point_discord_at(settings)
        client = build_discord_client(desk, guild_id=settings.discord_guild_id,
                                      support_channel_id=settings.discord_support_channel_id,
                                      cipher=runtime.cipher)
        await client.login(_secret(settings.discord_token))
        runtime.tasks.append(asyncio.create_task(client.connect(), name="discord-gateway"))
        runtime.closers.append(client.close)
        ports[Target.CUSTOMER] = DiscordCustomerPort(client, desk, settings.discord_support_channel_id,
                                                     fetch_file=fetch_file)
    for target, name in ((Target.STAFF, "Slack"), (Target.CUSTOMER, "Discord")):
        if target not in ports:
            log.warning("%s is not configured in this process: its messages wait in the outbox until it is", name)
    if settings.smtp_host:
        ports[Target.EMAIL] = SmtpMailer(settings.smtp_host, settings.smtp_port, settings.smtp_user,
                                         settings.smtp_password, settings.smtp_tls,
                                         settings.smtp_from or "support@localhost")
    return ports


async def run_platforms(settings: Settings) -> None:
    runtime = await build_runtime(settings, SystemClock())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        ports = await start_platforms(runtime)
        runtime.start_dispatcher(ports)
        await runtime.run_background()
        if settings.health_port:
            health = await start_health(runtime.desk, settings.health_port)
            runtime.closers.append(health.cleanup)
        scheduler = start_scheduler(runtime.desk)
        async def stop_scheduler() -> None:
            scheduler.shutdown(wait=False)

        runtime.closers.append(stop_scheduler)
        log.info("supportbot is running (Slack: %s, Discord: %s)",
                 "on" if settings.slack_enabled else "off", "on" if settings.discord_enabled else "off")
        await stop.wait()
    finally:
        log.info("shutting down")
        await runtime.close()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(sig)


async def print_invite_url(settings: Settings, application_id: int | None) -> int:
    """The OAuth2 URL that adds the bot with exactly the permissions it uses."""
    if application_id is None:
        if not settings.discord_enabled:
            print("give --application-id, or set DISCORD_TOKEN so it can be asked from Discord", file=sys.stderr)
            return 2
        point_discord_at(settings)
        client = discord.Client(intents=discord.Intents.none())
        try:
            await client.login(_secret(settings.discord_token))
            info = await client.application_info()
            application_id = info.id
        finally:
            await client.close()
    print(invite_url(application_id))
    return 0
