"""Start-up catch-up of staff replies written while the bot was away.

Slack retries an unacknowledged event for a few minutes only; after a longer absence a staff
reply exists only in the thread. At start, each open ticket's Slack thread is read after the
newest message the desk knows (conversations.replies with `oldest`, tier 3: about 50 calls a
minute, so calls are spaced), and each unknown reply is dispatched through the bolt app as the
event Slack would have sent: same listener, same checks, deduplicated by its message ref.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.client import make_ref, parse_ref
from bot.delivery.catch_up import OpenThread, open_threads
from bot.desk import Desk

log = logging.getLogger(__name__)
MIN_INTERVAL = 1.2  # seconds between conversations.replies calls (tier 3)


def _ts(value: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation:
        return Decimal(0)


def resume_after(thread: OpenThread) -> str:
    """The newest ts of a reply the desk stored in this thread before events came in; the thread itself if none."""
    channel, thread_ts = parse_ref(thread.thread_ref)
    known = [ts for ch, ts in (ref.split(":", 1) for ref in thread.resume_refs if ":" in ref) if ch == channel]
    return max(known + [thread_ts], key=_ts)


async def _replies(client: AsyncWebClient, channel: str, thread_ts: str, oldest: str,
                   min_interval: float) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        response = await client.conversations_replies(channel=channel, ts=thread_ts, oldest=oldest,
                                                      limit=200, cursor=cursor)
        found += [m for m in response.get("messages") or [] if _ts(m.get("ts", "")) > _ts(oldest)]
        await asyncio.sleep(min_interval)
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return found


async def _dispatch(app: AsyncApp, channel: str, message: dict[str, Any]) -> None:
    body = {"type": "event_callback", "event_id": f"catch-up:{channel}:{message['ts']}",
            "event_time": int(_ts(message["ts"])),
            "event": {**message, "type": "message", "channel": channel, "channel_type": "channel"}}
    await app.async_dispatch(AsyncBoltRequest(body=body, mode="socket_mode"))  # trusted: we read it ourselves


async def catch_up_slack(app: AsyncApp, client: AsyncWebClient, desk: Desk, min_interval: float = MIN_INTERVAL,
                         stored_before: datetime | None = None) -> int:
    """Relay the staff replies of open tickets written while the bot was away; returns how many.
    `stored_before`: when events started to come in (bot/delivery/catch_up.py open_threads)."""
    recovered = 0
    for thread in await open_threads(desk, "staff", stored_before):
        channel, thread_ts = parse_ref(thread.thread_ref)
        known = set(thread.known_refs)
        try:
            replies = await _replies(client, channel, thread_ts, resume_after(thread), min_interval)
        except Exception as exc:  # one unreadable thread (archived channel, no access) must not stop the rest
            log.warning("Slack catch-up: could not read ticket #%s's thread: %s", thread.number, exc)
            continue
        for message in sorted(replies, key=lambda m: _ts(m["ts"])):
            if message.get("bot_id") or make_ref(channel, message["ts"]) in known or message["ts"] == thread_ts:
                continue
            await _dispatch(app, channel, message)
            recovered += 1
    log.info("Slack catch-up: %s staff message(s) written while the bot was away were read from history",
             recovered)
    return recovered
