"""The Slack Web API as this adapter uses it: the client, refs, channel names, errors, file downloads."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.ports import RetryLater, Undeliverable

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api/"
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")

# Errors that will not go away by retrying; each gets a reason an operator can act on.
PERMANENT = {
    "channel_not_found": "the Slack channel does not exist or the bot cannot see it",
    "not_in_channel": "the bot is not a member of the Slack channel: invite it (/invite @bot)",
    "is_archived": "the Slack channel is archived",
    "invalid_auth": "the Slack bot token is invalid (check SLACK_BOT_TOKEN)",
    "not_authed": "no Slack bot token was sent (check SLACK_BOT_TOKEN)",
    "account_inactive": "the Slack bot token belongs to a deactivated app or user",
    "token_revoked": "the Slack bot token was revoked",
    "missing_scope": "the Slack app lacks a scope (see the app manifest)",
    "invalid_blocks": "Slack rejected the card's blocks",
    "msg_too_long": "the message is too long for Slack",
    "no_text": "the message is empty",
    "restricted_action": "a workspace setting forbids the bot to post there",
    "cant_update_message": "the Slack message cannot be updated by the bot",
    "edit_window_closed": "the Slack message can no longer be edited",
    "message_not_found": "the Slack message no longer exists",
}


def make_client(token: str, api_url: str = DEFAULT_API_URL,
                session: aiohttp.ClientSession | None = None) -> AsyncWebClient:
    """With `session`, every call reuses its pooled connections (one TLS handshake, not one per
    call); without, slack_sdk opens a session, and a connection, for each call. Whoever made
    the session closes it (see SlackParts.close)."""
    # No retry handlers: the outbox retries with its own backoff and keeps order, so the
    # client must not sleep on a 429 or resend behind its back.
    base = api_url if api_url.endswith("/") else api_url + "/"
    return AsyncWebClient(token=token, base_url=base, retry_handlers=[], session=session)


def make_ref(channel: str, ts: str) -> str:
    return f"{channel}:{ts}"


def parse_ref(ref: str | None) -> tuple[str, str]:
    """'C123:1700000000.000100' -> ('C123', '1700000000.000100')."""
    if not ref or ":" not in ref:
        raise Undeliverable(f"not a Slack message reference: {ref!r}")
    channel, ts = ref.split(":", 1)
    return channel, ts


def slack_error(exc: SlackApiError) -> str | None:
    data = getattr(exc.response, "data", None)
    return data.get("error") if isinstance(data, dict) else None


def translate(exc: BaseException, what: str) -> Exception:
    """A Slack/network failure as the outbox understands it: RetryLater or Undeliverable.
    Reasons name the call and Slack's error code, never the token or the request."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        status = getattr(response, "status_code", None) or getattr(response, "status", None) or 0
        error = slack_error(exc)
        if status == 429 or error == "ratelimited":
            header = (getattr(response, "headers", None) or {}).get("Retry-After")
            try:
                retry_after = float(header) if header is not None else None
            except ValueError:
                retry_after = None
            return RetryLater(f"{what}: Slack rate limit", retry_after=retry_after)
        if status >= 500:
            return RetryLater(f"{what}: Slack answered HTTP {status}")
        if error in PERMANENT:
            return Undeliverable(f"{what}: {error}: {PERMANENT[error]}")
        # unknown errors are retried; the dispatcher parks the row after its attempt limit
        return RetryLater(f"{what}: Slack error {error or status}")
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | OSError | SlackClientError):
        return RetryLater(f"{what}: {type(exc).__name__}")
    return RetryLater(f"{what}: unexpected {type(exc).__name__}")


class ChannelResolver:
    """Channel names from the policy ('support-seo' or '#support-seo') to ids, cached.
    Ids (C…, G…) pass through unchanged."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._ids: dict[str, str] = {}
        self._lock = asyncio.Lock()

    async def resolve(self, name_or_id: str) -> str:
        name = name_or_id.strip().lstrip("#")
        if CHANNEL_ID.match(name):
            return name
        if name in self._ids:
            return self._ids[name]
        async with self._lock:
            if name not in self._ids:
                await self._refresh()
        if name not in self._ids:
            raise Undeliverable(f"no Slack channel named #{name} that the bot can see: "
                                "create it and invite the bot, or fix the policy")
        return self._ids[name]

    async def _refresh(self) -> None:
        cursor: str | None = None
        while True:
            try:
                page = await self.client.conversations_list(
                    types="public_channel,private_channel", exclude_archived=True, limit=1000, cursor=cursor
                )
            except Exception as exc:
                raise translate(exc, "conversations.list") from exc
            for channel in page.get("channels") or []:
                self._ids[channel["name"]] = channel["id"]
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return


FileDownloader = Callable[[str], Awaitable[bytes]]


class NotAFile(Exception):
    """A Slack file URL answered with something other than the file (e.g. a sign-in page)."""


def slack_file_downloader(token: str, api_url: str = DEFAULT_API_URL, timeout: float = 60.0) -> FileDownloader:
    """`download(url) -> bytes` for staff files (url_private_download): they need the bot token.

    The token is only ever sent to files.slack.com or the configured API host, so a
    forged URL cannot make us leak it. Raises NotAFile, aiohttp errors, or ValueError."""
    allowed = {"files.slack.com", "slack.com", urlsplit(api_url).hostname or ""}

    async def download(url: str) -> bytes:
        host = urlsplit(url).hostname or ""
        if host not in allowed:
            raise ValueError(f"not a Slack file URL: {host}")
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
            async with session.get(url, headers=headers) as response:
                response.raise_for_status()
                # without a valid token Slack answers 200 with its HTML sign-in page
                if response.content_type == "text/html":
                    raise NotAFile("Slack answered with a web page instead of the file")
                return await response.read()

    return download
