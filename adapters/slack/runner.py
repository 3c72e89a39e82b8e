"""Wiring and starting the Slack side inside an already running asyncio loop (shared with Discord)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_server import AsyncSlackAppServer
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.app import build_slack_app
from adapters.slack.client import (
    DEFAULT_API_URL,
    ChannelResolver,
    FileDownloader,
    make_client,
    slack_file_downloader,
)
from adapters.slack.port import SlackStaffPort
from adapters.slack.staff import StaffDirectory, staff_channels
from bot.desk import Desk
from bot.ports import Cipher

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"


@dataclass(frozen=True)
class SlackParts:
    """Everything the composition root needs from Slack."""

    app: AsyncApp
    port: SlackStaffPort  # the DeliveryPort for Target.STAFF
    staff: StaffDirectory
    client: AsyncWebClient
    download_file: FileDownloader  # bytes of a staff file (url_private_download), for the customer port
    session: aiohttp.ClientSession  # shared by every Web API call of `client` (and bolt's)

    async def close(self) -> None:
        """Close the shared HTTP session: after the dispatcher and the connection have stopped."""
        await self.session.close()


def build_slack(desk: Desk, *, token: str, signing_secret: str | None = None, api_url: str = DEFAULT_API_URL,
                usergroup: str | None = None, cipher: Cipher | None = None) -> SlackParts:
    """Call inside the running event loop (the session binds to it); `await parts.close()` at the end."""
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    client = make_client(token, api_url, session=session)
    resolver = ChannelResolver(client)  # shared: one conversations.list cache
    staff = StaffDirectory(client, staff_channels(desk.policy), usergroup=usergroup, resolver=resolver)
    app = build_slack_app(desk, token=token, signing_secret=signing_secret, staff=staff, api_url=api_url,
                          client=client, cipher=cipher)
    port = SlackStaffPort(client, desk, channels=resolver)
    return SlackParts(app, port, staff, client, slack_file_downloader(token, api_url), session)


class SlackConnection:
    """A started Slack connection; `await close()` stops it."""

    def __init__(self, mode: str, socket: AsyncSocketModeHandler | None = None,
                 runner: web.AppRunner | None = None, port: int | None = None) -> None:
        self.mode, self._socket, self._runner, self.port = mode, socket, runner, port

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()
            # slack_sdk cancels its receiver, monitor and processor tasks without awaiting them
            client: Any = self._socket.client
            tasks = [t for t in (client.message_processor, client.current_session_monitor, client.message_receiver)
                     if t is not None]
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()


async def start_slack(app: AsyncApp, *, app_token: str | None = None, http_port: int = 3000,
                      host: str = "0.0.0.0", owner: list[Any] | None = None) -> SlackConnection:
    """Socket Mode when an app token (xapp-…) is given, else HTTP at /slack/events; never blocks.
    `owner` gets the connection's close() before the first attempt, so a start that fails or is
    cancelled half-way is still closed."""
    if app_token:
        handler = AsyncSocketModeHandler(app, app_token)
        connection = SlackConnection("socket", socket=handler)
        if owner is not None:
            owner.append(connection.close)
        await handler.connect_async()
        log.info("Slack connected in Socket Mode")
        return connection
    server = AsyncSlackAppServer(port=http_port, path=EVENTS_PATH, app=app, host=host)
    runner = web.AppRunner(server.web_app)
    connection = SlackConnection("http", runner=runner)
    if owner is not None:
        owner.append(connection.close)
    await runner.setup()
    site = web.TCPSite(runner, host, http_port)
    await site.start()
    connection.port = runner.addresses[0][1] if runner.addresses else http_port  # the real port when 0 was asked
    log.info("Slack events served over HTTP on port %s at %s", connection.port, EVENTS_PATH)
    return connection
