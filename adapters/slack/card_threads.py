"""Which Slack threads are ticket cards the desk has not recorded yet.

Slack answers chat.postMessage before the dispatcher commits the card's ts, and a process can
die in between; a staff reply in that window would look like staff talking among themselves
and be dropped. The card carries its outbox row in its message metadata, so a reply in an
unknown thread reads the thread's parent once: our bot's card names its row, and the ticket
learns its thread (bot/delivery/catch_up.py adopt_card_thread). Anything else is remembered as not a
card, so ordinary threads cost one read each.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.client import make_ref
from adapters.slack.port import METADATA_TYPE
from bot.delivery.catch_up import adopt_card_thread
from bot.desk import Desk

log = logging.getLogger(__name__)
REMEMBERED = 10_000  # threads known not to be cards, before the memory starts over


class CardThreads:
    def __init__(self, desk: Desk, client: AsyncWebClient) -> None:
        self.desk, self.client = desk, client
        self._not_cards: set[str] = set()

    async def adopt(self, channel: str, thread_ts: str, bot_user: str | None) -> bool:
        """True when the thread is one of our cards and its ticket now knows it."""
        ref = make_ref(channel, thread_ts)
        if ref in self._not_cards or not bot_user:
            return False
        try:
            response: Any = await self.client.conversations_replies(
                channel=channel, ts=thread_ts, limit=1, include_all_metadata=True)
        except Exception as exc:  # a reply we cannot place is what it was before: not relayed
            log.warning("could not read the parent of Slack thread %s: %s", ref, exc)
            return False
        parent: dict[str, Any] = next((m for m in response.get("messages") or [] if m.get("ts") == thread_ts), {})
        metadata = parent.get("metadata") or {}
        row = (metadata.get("event_payload") or {}).get("row")
        # only our bot's message counts: another app could post the same metadata
        if parent.get("user") == bot_user and metadata.get("event_type") == METADATA_TYPE and isinstance(row, int):
            if await adopt_card_thread(self.desk, row, ref):
                log.info("Slack thread %s is ticket card of outbox row %s, recorded on a staff reply", ref, row)
                return True
        if len(self._not_cards) >= REMEMBERED:
            self._not_cards.clear()
        self._not_cards.add(ref)
        return False
