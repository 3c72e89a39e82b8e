"""`supportbot run` with Slack and/or Discord: adapters, outbox dispatcher and sweep in one loop.

Customers on Discord, staff on Slack. Several processes may share one PostgreSQL, each serving
what it is configured for (e.g. Slack over HTTP in many, the Discord gateway in one).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
import yarl

from adapters.discord.client import build_discord_client
from adapters.discord.lifecycle import gateway_failure, login
from adapters.discord.port import DiscordCustomerPort
from adapters.email.smtp import SmtpMailer
from adapters.slack.catch_up import catch_up_slack
from adapters.slack.connect import check_slack_tokens
from adapters.slack.runner import build_slack, start_slack
from bot.domain import Attachment, Target
from bot.ports import DeliveryPort
from supportbot.bootstrap import Runtime, build_runtime
from supportbot.clock import SystemClock
from supportbot.config_report import policy_path
from supportbot.health import start_health
from supportbot.metrics_inbound import observe_discord, observe_slack
from supportbot.settings import Settings
from supportbot.startup import (
    StartupRefused,
    bind,
    keep_trying,
    policy_refusal,
    quiet_reconnect_tracebacks,
    stop_on_signals,
    unless_stopped,
)
from supportbot.timers_wiring import start_scheduler

log = logging.getLogger(__name__)


def _secret(value: Any) -> str:
    return value.get_secret_value() if value is not None else ""


def point_discord_at(settings: Settings) -> None:
    """DISCORD_API_URL / DISCORD_GATEWAY_URL, so the bot can run against a local fake Discord."""
    discord.http.Route.BASE = settings.discord_api_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


async def start_platforms(runtime: Runtime, on_failure: Any = None) -> dict[Target, DeliveryPort]:
    """Connect what is configured; returns the delivery ports. Connections are closed by runtime.close(),
    which owns each one from before its first attempt. `on_failure(sentence)`: a connection ended for good."""
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
        observe_slack(slack.app, runtime.metrics)
        runtime.closers.append(slack.close)  # closers run last-in first-out: the session outlives the connection
        app_token = _secret(settings.slack_app_token) or None
        await keep_trying("Slack", lambda: check_slack_tokens(slack.client, app_token))
        listening_from = desk.clock.now()  # replies stored from now on came live: no resume point
        await bind("SLACK_HTTP_PORT", settings.slack_http_port, lambda: start_slack(
            slack.app, app_token=app_token, http_port=settings.slack_http_port, owner=runtime.closers))
        ports[Target.STAFF] = slack.port
        # replies written while the bot was away longer than Slack retries: read from the threads
        async def slack_catch_up() -> None:
            try:
                runtime.metrics.caught_up.labels("slack").inc(await catch_up_slack(
                    slack.app, slack.client, desk, stored_before=listening_from))
            except Exception:  # the database or Slack failing now: live events still flow
                log.exception("Slack catch-up failed: replies written while the bot was away are read at the "
                              "next start")

        runtime.tasks.append(asyncio.create_task(slack_catch_up(), name="slack-catch-up"))

        async def fetch_slack(attachment: Attachment) -> bytes:
            return await slack.download_file(attachment.url)

        fetch_file = fetch_slack
    if settings.discord_enabled:
        assert settings.discord_guild_id is not None and settings.discord_support_channel_id is not None
        point_discord_at(settings)
        client = build_discord_client(desk, guild_id=settings.discord_guild_id,
                                      support_channel_id=settings.discord_support_channel_id,
                                      cipher=runtime.cipher)
        observe_discord(client, runtime.metrics)
        runtime.closers.append(client.close)
        token = _secret(settings.discord_token)
        await keep_trying("Discord", lambda: login(client, token))
        gateway = asyncio.create_task(client.connect(), name="discord-gateway")
        runtime.tasks.append(gateway)
        if on_failure is not None:
            gateway.add_done_callback(
                lambda t: on_failure(gateway_failure(t.exception()))  # type: ignore[arg-type]
                if not t.cancelled() and t.exception() is not None else None)
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


async def _start_everything(runtime: Runtime, on_failure: Any) -> None:
    settings = runtime.settings
    ports = await start_platforms(runtime, on_failure)
    runtime.start_dispatcher(ports)
    await runtime.run_background()
    if settings.health_port:
        port = settings.health_port
        health = await bind("HEALTH_PORT", port, lambda: start_health(runtime.desk, port, metrics=runtime.render_metrics))
        runtime.closers.append(health.cleanup)
    scheduler = start_scheduler(runtime.desk, every_seconds=settings.sweep_seconds, metrics=runtime.metrics,
                                daily=runtime.apply_retention)
    runtime.closers.append(scheduler.stop)  # closed first: waits for the sweep in hand


async def run_platforms(settings: Settings) -> None:
    """Run until SIGTERM/SIGINT. StartupRefused (one sentence) when it cannot start or a platform
    refuses it for good; everything it started is closed and awaited before it returns or raises."""
    stop = asyncio.Event()
    failures: list[str] = []

    def fail(sentence: str) -> None:
        failures.append(sentence)
        stop.set()

    quiet_reconnect_tracebacks()
    with stop_on_signals(stop):  # first: a signal at any moment of the start stops it
        path = policy_path(settings)
        started, runtime = await unless_stopped(build_runtime(settings, SystemClock()), stop)
        if not started or runtime is None:
            return
        try:
            refusal = policy_refusal(path, runtime.desk.policy)
            if refusal:
                raise StartupRefused(refusal)
            started, _ = await unless_stopped(_start_everything(runtime, fail), stop)
            if started and not stop.is_set():
                log.info("supportbot is running (Slack: %s, Discord: %s)",
                         "on" if settings.slack_enabled else "off", "on" if settings.discord_enabled else "off")
                await stop.wait()
        finally:
            log.info("shutting down")
            await runtime.close()
    if failures:
        raise StartupRefused(failures[0])
