"""Counting inbound platform events by kind, hooked onto the platform libraries from outside the
adapters: a global slack-bolt middleware, and discord.py's per-event-type gateway hook."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import discord
from slack_bolt.async_app import AsyncApp

from supportbot.log_json import log_context
from supportbot.metrics import Metrics

# the gateway events the bot acts on; the rest (presence, typing, guild updates) are not "inbound"
DISCORD_KINDS = {"MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE", "INTERACTION_CREATE"}


def slack_kind(body: dict[str, Any]) -> str:
    """message, app_mention, block_actions, view_submission, command, …: a small fixed set."""
    if "command" in body:
        return "command"
    if body.get("type") == "event_callback":
        return str((body.get("event") or {}).get("type") or "event")
    return str(body.get("type") or "other")


def observe_slack(app: AsyncApp, metrics: Metrics) -> None:
    async def count_inbound(body: dict[str, Any], next: Callable[[], Awaitable[Any]]) -> Any:  # noqa: A002
        metrics.inbound.labels("slack", slack_kind(body)).inc()
        with log_context(platform="slack"):
            return await next()

    app.use(count_inbound)


def observe_discord(client: discord.Client, metrics: Metrics) -> None:
    async def on_socket_event_type(event_type: str) -> None:
        if event_type in DISCORD_KINDS:
            metrics.inbound.labels("discord", event_type.lower()).inc()

    client.on_socket_event_type = on_socket_event_type  # type: ignore[attr-defined]
    # SupportClient.catch_up reports how many messages each new session read from history
    client.caught_up = lambda count: metrics.caught_up.labels("discord").inc(count)  # type: ignore[attr-defined]
