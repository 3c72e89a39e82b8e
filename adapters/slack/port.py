"""The staff-side delivery port: outbox rows for Target.STAFF become Slack Web API calls."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.card import (
    TEXT_LIMIT,
    card_blocks,
    escape,
    fallback_text,
    mention,
    message_text,
    render_escaped,
    split_text,
    truncate,
)
from adapters.slack.client import ChannelResolver, make_ref, parse_ref, slack_error, translate
from adapters.slack.pacing import ChannelHeld, ChannelPacer
from adapters.slack.uploads import rating_block, upload_report, upload_transcript
from bot.customers.accounts import linked_identities
from bot.desk import Desk
from bot.domain import Attachment, Identity, Message, Ticket
from bot.ports import Delivery, RetryLater, Undeliverable
from bot.texts import Text

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_FILE_BYTES = 100 * 1024 * 1024
# every post carries the outbox row and part it delivers, so a retry after a crash can find it
METADATA_TYPE = "supportbot_outbox"
# longest a delivery waits out a hold on its channel (a 429's Retry-After); beyond, the row goes
# back to the outbox with that delay rather than sleeping in hand (waiting one's turn among the
# channel's posts is not limited: that is bounded by the tickets waiting, see pacing.py)
MAX_PACING_WAIT = 5.0


class SlackStaffPort:
    """Implements bot.ports.DeliveryPort for Target.STAFF (see THE OUTBOX CONTRACT in bot/delivery/effects.py)."""

    def __init__(self, client: AsyncWebClient, desk: Desk, *, channels: ChannelResolver | None = None,
                 pacer: ChannelPacer | None = None, download_timeout: float = 60.0) -> None:
        self.client, self.desk = client, desk
        self.channels = channels or ChannelResolver(client)
        # Slack allows about one message per second per channel, in short bursts: pace rather than earn 429s
        self.pacer = pacer or ChannelPacer()
        self.download_timeout = download_timeout
        # outbox row -> (first ref, parts posted): a retry after a failed part or upload
        # posts only what is missing (in memory: a restart may repeat a part, never lose one)
        self._posted: dict[int, tuple[str | None, int]] = {}

    def lane(self, delivery: Delivery) -> int | None:
        """Each ticket is its own lane (bot/delivery/lanes.py): its rows go in order, other tickets' side by
        side. Posts to one channel still share its bucket, which serves them in turn (pacing.py);
        what is not paced (a reaction, a card update, a file download) waits for nobody's posts."""
        return delivery.ticket.id if delivery.ticket is not None else None

    async def deliver(self, delivery: Delivery) -> str | None:
        handler = {"card": self._card, "card_update": self._card_update, "post": self._post,
                   "edit": self._edit, "delete": self._delete, "react": self._react,
                   "transcript": self._transcript, "report": self._report}.get(delivery.action)
        if handler is None:
            raise Undeliverable(f"the Slack port does not know the action {delivery.action!r}")
        try:
            if delivery.interrupted and delivery.item_id not in self._posted:
                await self._find_posted(delivery)
            return await handler(delivery)
        except Undeliverable:
            self._posted.pop(delivery.item_id, None)  # the row is given up: forget its progress
            raise

    # --- calls -------------------------------------------------------------------------

    async def _call(self, what: str, call: Callable[[], Awaitable[T]], ok_errors: tuple[str, ...] = ()) -> T | None:
        """Run one API call; Slack errors listed in ok_errors mean 'already done' (None)."""
        try:
            return await call()
        except SlackApiError as exc:
            if slack_error(exc) in ok_errors:
                return None
            raise translate(exc, what) from exc
        except (RetryLater, Undeliverable):
            raise
        except Exception as exc:
            raise translate(exc, what) from exc

    async def _paced(self, channel: str, what: str, call: Callable[[], Awaitable[T]],
                     delivery: Delivery | None = None) -> T | None:
        """A post to `channel` once its bucket allows; a 429 also holds the channel's later posts.
        A channel held longer than MAX_PACING_WAIT gives the row back to the outbox instead."""
        key, waited = None, 0.0
        if delivery is not None and delivery.ticket is not None:
            # the bucket serves tickets by when their post became due (pacing.py)
            key = delivery.ticket.id
            if delivery.item is not None:
                waited = (self.desk.clock.now() - delivery.item.created_at).total_seconds()
        try:
            await self.pacer.take(channel, max_wait=MAX_PACING_WAIT, key=key, waited=waited)
        except ChannelHeld as exc:
            raise RetryLater(f"{what}: Slack rate limit on the channel", retry_after=exc.retry_after) from exc
        try:
            return await self._call(what, call)
        except RetryLater as exc:
            if exc.retry_after is not None:
                self.pacer.pause(channel, exc.retry_after)
            raise

    async def _post_text(self, channel: str, text: str, thread_ts: str | None = None,
                         blocks: list[dict[str, Any]] | None = None, item_id: int | None = None,
                         delivery: Delivery | None = None) -> str:
        """Post text, in several messages over Slack's limit; returns the first one's ref.
        Parts already posted for this outbox row are not posted again when it is retried."""
        first, done = self._posted.get(item_id, (None, 0)) if item_id is not None else (None, 0)
        for index, chunk in enumerate(split_text(text)):
            if index < done:
                continue
            kwargs: dict[str, Any] = {"channel": channel, "text": chunk, "unfurl_links": False}
            if thread_ts:
                kwargs["thread_ts"] = thread_ts
            if blocks is not None and first is None:
                kwargs["blocks"] = blocks
            if item_id is not None:
                kwargs["metadata"] = {"event_type": METADATA_TYPE, "event_payload": {"row": item_id, "part": index}}
            response: Any = await self._paced(channel, "chat.postMessage",
                                              partial(self.client.chat_postMessage, **kwargs), delivery)
            first = first or make_ref(response.get("channel") or channel, response["ts"])
            if item_id is not None:
                self._posted[item_id] = (first, index + 1)
        assert first is not None
        return first

    async def _find_posted(self, delivery: Delivery) -> None:
        """An earlier attempt died between Slack's answer and our commit (Slack has no idempotency
        key): read the thread (for a card, the channel's latest messages) and count the parts our
        metadata says belong to this row, so that only what is missing is posted."""
        ticket = delivery.ticket
        if ticket is None or delivery.action not in ("card", "post"):
            return
        if delivery.action == "post":
            channel, thread_ts = self._thread(ticket)
            read = partial(self.client.conversations_replies, channel=channel, ts=thread_ts)
        else:
            channel = await self.channels.resolve(ticket.staff_channel)
            read = partial(self.client.conversations_history, channel=channel)
        parts: dict[int, str] = {}
        cursor = None
        for _ in range(10):  # a thread's replies oldest first, 200 a page; the channel's newest 200
            response: Any = await self._call("reading what an interrupted attempt posted", partial(
                read, include_all_metadata=True, limit=200, **({"cursor": cursor} if cursor else {})))
            for m in response.get("messages") or []:
                metadata = m.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if metadata.get("event_type") == METADATA_TYPE and payload.get("row") == delivery.item_id:
                    parts[int(payload.get("part") or 0)] = m["ts"]
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor or delivery.action == "card":
                break
        done = 0
        while done in parts:
            done += 1
        if done:
            log.info("outbox row %s: %s part(s) were posted before an interruption; not posting them again",
                     delivery.item_id, done)
            self._posted[delivery.item_id] = (make_ref(channel, parts[0]), done)

    # --- actions -----------------------------------------------------------------------

    def _ticket(self, delivery: Delivery) -> Ticket:
        if delivery.ticket is None:
            raise Undeliverable(f"{delivery.action} needs a ticket")
        return delivery.ticket

    def _thread(self, ticket: Ticket) -> tuple[str, str]:
        if not ticket.staff_thread_ref:
            raise Undeliverable(f"ticket #{ticket.number} has no Slack card (its card was never delivered)")
        return parse_ref(ticket.staff_thread_ref)

    def _message(self, delivery: Delivery) -> Message:
        if delivery.message is None or not delivery.message.staff_ref:
            raise Undeliverable(f"{delivery.action}: the message was never posted in Slack")
        return delivery.message

    async def _card(self, delivery: Delivery) -> str:
        ticket = self._ticket(delivery)
        channel = await self.channels.resolve(ticket.staff_channel)
        blocks = card_blocks(ticket, self.desk.policy, self.desk.clock.now(), await self._identities(ticket))
        # the row in its metadata: an interrupted attempt finds it (_find_posted), and so does a
        # staff reply that comes before its ts is recorded (adapters/slack/card_threads.py)
        return await self._post_text(channel, fallback_text(ticket), blocks=blocks, item_id=delivery.item_id,
                                     delivery=delivery)

    async def _identities(self, ticket: Ticket) -> list[Identity]:
        """Everyone linked to the ticket's account: staff see who may be writing as the customer."""
        async with self.desk.uow() as uow:
            return await linked_identities(uow, ticket.account_id)

    async def _card_update(self, delivery: Delivery) -> None:
        ticket = self._ticket(delivery)
        channel, ts = self._thread(ticket)
        blocks = card_blocks(ticket, self.desk.policy, self.desk.clock.now(), await self._identities(ticket))
        if delivery.payload.get("rating"):  # the customer rated the closed ticket (bot/tickets/satisfaction.py)
            blocks.append(rating_block(delivery.payload["rating"], str(delivery.payload.get("comment") or "")))
        await self._call("chat.update", lambda: self.client.chat_update(
            channel=channel, ts=ts, text=fallback_text(ticket), blocks=blocks))
        return None

    async def _post(self, delivery: Delivery) -> str:
        ticket = self._ticket(delivery)
        channel, thread_ts = self._thread(ticket)
        message = delivery.message
        if message is None:
            # a system notice: its parameters may quote the customer (subject, name)
            text = render_escaped(Text.from_dict(delivery.payload["text"]))
            if delivery.payload.get("mention"):
                text = f"{mention(str(delivery.payload['mention']))} {text}"
        else:
            text = message_text(message)
        ref = await self._post_text(channel, text, thread_ts, item_id=delivery.item_id, delivery=delivery)
        if message is not None and message.attachments:
            await self._upload(channel, thread_ts, message.attachments, delivery)
        self._posted.pop(delivery.item_id, None)
        return ref

    async def _edit(self, delivery: Delivery) -> None:
        message = self._message(delivery)
        channel, ts = parse_ref(message.staff_ref)
        text = truncate(message_text(message), TEXT_LIMIT)  # an edit cannot be split
        await self._call("chat.update", lambda: self.client.chat_update(channel=channel, ts=ts, text=text))
        return None

    async def _delete(self, delivery: Delivery) -> None:
        message = self._message(delivery)
        channel, ts = parse_ref(message.staff_ref)
        await self._call("chat.delete", lambda: self.client.chat_delete(channel=channel, ts=ts),
                         ok_errors=("message_not_found",))
        return None

    async def _transcript(self, delivery: Delivery) -> str | None:
        return await upload_transcript(self, delivery)  # adapters/slack/uploads.py

    async def _report(self, delivery: Delivery) -> str | None:
        return await upload_report(self, delivery)

    async def _react(self, delivery: Delivery) -> None:
        message = self._message(delivery)
        channel, ts = parse_ref(message.staff_ref)
        name, remove = delivery.payload.get("name"), delivery.payload.get("remove")
        if name:
            await self._call("reactions.add", lambda: self.client.reactions_add(
                channel=channel, timestamp=ts, name=name), ok_errors=("already_reacted",))
        if remove:
            await self._call("reactions.remove", lambda: self.client.reactions_remove(
                channel=channel, timestamp=ts, name=remove), ok_errors=("no_reaction",))
        return None

    # --- files -------------------------------------------------------------------------

    async def _upload(self, channel: str, thread_ts: str, attachments: tuple[Attachment, ...],
                      delivery: Delivery | None = None) -> None:
        """Copy each file into the thread: customer-side URLs expire, a link is not enough."""
        uploads, missing = [], []
        for attachment in attachments:
            content = await self._download(attachment)
            if content is None:
                missing.append(attachment.filename)
            else:
                uploads.append({"content": content, "filename": attachment.filename or "file",
                                "title": attachment.filename or "file"})
        if uploads:
            await self._paced(channel, "files.uploadV2", lambda: self.client.files_upload_v2(
                file_uploads=uploads, channel=channel, thread_ts=thread_ts), delivery)
        if missing:
            names = ", ".join(escape(n) for n in missing)
            await self._post_text(channel, f"_(attachments that could not be copied: {names})_", thread_ts,
                                  delivery=delivery)

    async def _download(self, attachment: Attachment) -> bytes | None:
        """The file's bytes; None when it is gone for good or too large (4xx, size)."""
        if attachment.size > MAX_FILE_BYTES:
            return None
        timeout = aiohttp.ClientTimeout(total=self.download_timeout)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.get(attachment.url) as response:
                    if 400 <= response.status < 500 and response.status != 429:
                        log.warning("attachment %s is gone (HTTP %s)", attachment.filename, response.status)
                        return None
                    if response.status >= 300:
                        raise RetryLater(f"attachment download: HTTP {response.status}")
                    data = await response.content.read(MAX_FILE_BYTES + 1)
                    return None if len(data) > MAX_FILE_BYTES else data
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise RetryLater(f"attachment download: {type(exc).__name__}") from exc
