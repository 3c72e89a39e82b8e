"""DiscordCustomerPort: delivers the core's outbox rows for Target.CUSTOMER to Discord."""

from __future__ import annotations

import io
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

import aiohttp
import discord

from adapters.discord.labels import label, say
from adapters.discord.rating import rating_buttons
from adapters.discord.views import ticket_buttons
from adapters.render.files import customer_transcript
from bot.desk import Desk
from bot.domain import Attachment, Message, Ticket
from bot.ports import Delivery, RetryLater, Undeliverable
from bot.texts import Text
from bot.tickets.customer_tickets import record_customer_thread

if TYPE_CHECKING:
    from adapters.discord.client import SupportClient

log = logging.getLogger(__name__)

MAX_CONTENT = 2000
MAX_FILES = 10
THREAD_NAME = 100
AUTO_ARCHIVE_MINUTES: Final = 10080  # a week; Discord archives idle threads, we unarchive to post

FileFetcher = Callable[[Attachment], Awaitable[bytes]]


def split_text(text: str, limit: int = MAX_CONTENT) -> list[str]:
    """Chunks of at most `limit` characters, cut at a line break or space when there is one."""
    chunks = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut <= 0:
            cut = text.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
        chunks.append(text[:cut])
        text = text[cut:].lstrip("\n ")
    return [*chunks, text] if text or not chunks else chunks


def part_ids(message: Message) -> list[int]:
    """The Discord ids of a relayed message: several when it was split at 2,000 characters."""
    return [int(part) for part in (message.customer_ref or "").split(",") if part]


def thread_name(ticket: Ticket) -> str:
    return f"#{ticket.number} {ticket.subject}".strip()[:THREAD_NAME]


@contextmanager
def platform_errors(action: str) -> Iterator[None]:
    """Discord's failures as the outbox understands them: retry later, or give up."""
    try:
        yield
    except discord.RateLimited as exc:  # longer than max_ratelimit_timeout: let the outbox wait
        raise RetryLater(f"{action}: rate limited", retry_after=exc.retry_after) from exc
    except discord.NotFound as exc:
        raise Undeliverable(f"{action}: not found on Discord ({exc.text or exc.status})") from exc
    except discord.Forbidden as exc:
        raise Undeliverable(f"{action}: the bot lacks a permission or the user blocks it ({exc.text})") from exc
    except discord.HTTPException as exc:
        if exc.status == 429 or exc.status >= 500:
            raise RetryLater(f"{action}: Discord answered {exc.status}") from exc
        raise Undeliverable(f"{action}: Discord refused the request ({exc.status} {exc.text})") from exc
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise RetryLater(f"{action}: connection failed ({type(exc).__name__})") from exc


def nonce(d: Delivery, part: int = 0) -> str:
    """The same for every attempt at one outbox row: with enforce_nonce (discord.py sets it),
    Discord returns the message an earlier attempt created within the last few minutes instead
    of posting it again (a crash between Discord's answer and our commit)."""
    return f"ob{d.item_id}.{part}"[:25]


class DiscordCustomerPort:
    """See THE OUTBOX CONTRACT in bot/delivery/effects.py for the actions and what each returns."""

    def __init__(self, client: SupportClient, desk: Desk, support_channel_id: int,
                 fetch_file: FileFetcher | None = None) -> None:
        self.client, self.desk, self.support_channel_id = client, desk, support_channel_id
        # staff files may need credentials (Slack private URLs): the composition root can inject them
        self.fetch_file = fetch_file or self._fetch_plain

    async def deliver(self, delivery: Delivery) -> str | None:
        if self.client.user is None:
            raise RetryLater("discord client not logged in yet")
        handler = getattr(self, f"_do_{delivery.action}", None)
        if handler is None:
            raise Undeliverable(f"unknown customer action {delivery.action!r}")
        if delivery.action == "dm_user":
            with platform_errors(delivery.action):
                return await self._do_dm_user(delivery)
        if delivery.ticket is None:
            raise Undeliverable(f"{delivery.action}: the ticket is gone")
        with platform_errors(delivery.action):
            result: str | None = await handler(delivery, delivery.ticket)
            return result

    # --- actions -----------------------------------------------------------------------

    async def _do_open_thread(self, d: Delivery, ticket: Ticket) -> str:
        channel = self.client.get_channel(self.support_channel_id) or await self.client.fetch_channel(
            self.support_channel_id)
        if not isinstance(channel, discord.TextChannel):
            raise Undeliverable(f"support channel {self.support_channel_id} is not a text channel")
        thread = (await self._recorded_thread(ticket) or self._existing_thread(channel, ticket)
                  or await channel.create_thread(
                      name=thread_name(ticket), type=discord.ChannelType.private_thread, invitable=False,
                      auto_archive_duration=AUTO_ARCHIVE_MINUTES, reason=f"support ticket #{ticket.number}"))
        if ticket.customer_thread_ref != str(thread.id):  # before the customer is added and can write
            await record_customer_thread(self.desk, ticket.number, str(thread.id))
        await thread.add_user(discord.Object(id=int(ticket.customer_user_id)))
        await self._send(thread, self._addressed(ticket, self._text(d, ticket)), self._to_customer(ticket), d,
                         view=ticket_buttons(ticket.number, ticket.locale, close=True))
        return str(thread.id)

    async def _do_post(self, d: Delivery, ticket: Ticket) -> str:
        thread = await self._thread(ticket)
        if d.message is not None:
            return await self._post_answer(thread, ticket, d.message, d)
        # the nudge carries the Close button, staff's request for access the button opening the form
        view = ticket_buttons(ticket.number, ticket.locale, close=bool(d.payload.get("close_button")),
                              access=bool(d.payload.get("access_form")))
        if d.payload.get("rating_buttons"):
            view = rating_buttons(ticket.number)  # 1-5, after a close (bot/tickets/satisfaction.py)
        return await self._send(thread, self._addressed(ticket, self._text(d, ticket)), self._to_customer(ticket), d,
                                view=view)

    async def _do_edit(self, d: Delivery, ticket: Ticket) -> None:
        """Rewrite every part of a (possibly split) answer; parts the new text no longer needs go,
        and a longer text fills the parts there are (the last one cut)."""
        message = self._relayed(d)
        thread = await self._thread(ticket)
        ids = part_ids(message)
        chunks = split_text(self._addressed(ticket, self._answer_text(message, ticket)))
        if len(chunks) > len(ids):
            tail = " ".join(chunks[len(ids) - 1:])
            chunks = chunks[: len(ids) - 1] + [tail if len(tail) <= MAX_CONTENT else tail[: MAX_CONTENT - 1] + "…"]
        for message_id, chunk in zip(ids, chunks, strict=False):
            await thread.get_partial_message(message_id).edit(content=chunk,
                                                              allowed_mentions=discord.AllowedMentions.none())
        await self._delete_parts(thread, ids[len(chunks):])

    async def _do_delete(self, d: Delivery, ticket: Ticket) -> None:
        await self._delete_parts(await self._thread(ticket), part_ids(self._relayed(d)))

    async def _delete_parts(self, thread: discord.Thread, ids: list[int]) -> None:
        for message_id in ids:
            self.client.deleted_by_bot.add(message_id)  # Discord reports it back: not a deletion by a person
            try:
                await thread.get_partial_message(message_id).delete()
            except discord.NotFound:
                pass  # already gone: what we wanted

    async def _do_lock(self, d: Delivery, ticket: Ticket) -> None:
        thread = await self._thread(ticket, unarchive=False)
        if not (thread.archived and thread.locked):
            await thread.edit(archived=True, locked=True, reason=f"ticket #{ticket.number} closed")

    async def _do_transcript(self, d: Delivery, ticket: Ticket) -> str:
        """The customer's copy of the transcript (no internal notes), as a file in their thread."""
        name, data = await customer_transcript(self.desk, ticket, d.payload)
        text = label("transcript_attached", ticket.locale, number=ticket.number)
        return await self._send(await self._thread(ticket), self._addressed(ticket, text), self._to_customer(ticket), d,
                                files=[discord.File(io.BytesIO(data), filename=name)])

    async def _do_dm(self, d: Delivery, ticket: Ticket) -> str:
        channel = await self.client.create_dm(discord.Object(id=int(ticket.customer_user_id)))
        sent = await channel.send(self._text(d, ticket)[:MAX_CONTENT], allowed_mentions=discord.AllowedMentions.none(),
                                  nonce=nonce(d))
        return str(sent.id)

    async def _do_dm_user(self, d: Delivery) -> str | None:
        """A DM to an identity, not about a ticket; one of another platform is not ours to send."""
        if d.payload.get("platform") != "discord" or not str(d.payload.get("user_id", "")).isdigit():
            raise Undeliverable(f"dm_user: not a Discord user ({d.payload.get('platform')})")
        if "text" not in d.payload:
            raise Undeliverable("dm_user: payload has no text")
        text = say(Text.from_dict(d.payload["text"]), d.payload.get("locale") or "en")
        channel = await self.client.create_dm(discord.Object(id=int(d.payload["user_id"])))
        sent = await channel.send(text[:MAX_CONTENT], allowed_mentions=discord.AllowedMentions.none())
        return str(sent.id)

    # --- helpers -----------------------------------------------------------------------

    @staticmethod
    def _text(d: Delivery, ticket: Ticket) -> str:
        if "text" not in d.payload:
            raise Undeliverable(f"{d.action}: payload has no text")
        return say(Text.from_dict(d.payload["text"]), ticket.locale)

    @staticmethod
    def _addressed(ticket: Ticket, text: str) -> str:
        return f"<@{ticket.customer_user_id}> {text}"

    @staticmethod
    def _to_customer(ticket: Ticket) -> discord.AllowedMentions:
        """Only the customer addressed may be pinged (everyone and roles stay off: client default)."""
        return discord.AllowedMentions(users=[discord.Object(id=int(ticket.customer_user_id))])

    @staticmethod
    def _relayed(d: Delivery) -> Message:
        if d.message is None or not d.message.customer_ref:
            raise Undeliverable(f"{d.action}: the message was never posted on Discord")
        return d.message

    @staticmethod
    def _answer_text(message: Message, ticket: Ticket) -> str:
        name = discord.utils.escape_markdown(message.author_name or "?")
        return f"**{name}** ({label('staff_label', ticket.locale)}): {message.body}"

    async def _recorded_thread(self, ticket: Ticket) -> discord.Thread | None:
        """The thread an earlier attempt created and recorded (the outbox retries whole rows)."""
        if not ticket.customer_thread_ref:
            return None
        try:
            return await self._thread(ticket)
        except (Undeliverable, discord.NotFound):
            return None

    def _existing_thread(self, channel: discord.TextChannel, ticket: Ticket) -> discord.Thread | None:
        """A thread a failed earlier attempt already created (the outbox retries whole rows)."""
        me = self.client.user
        name = thread_name(ticket)
        return next((t for t in channel.threads if t.name == name and me and t.owner_id == me.id), None)

    async def _thread(self, ticket: Ticket, unarchive: bool = True) -> discord.Thread:
        if not ticket.customer_thread_ref:
            raise Undeliverable(f"ticket #{ticket.number} has no Discord thread")
        thread_id = int(ticket.customer_thread_ref)
        # archived threads drop out of discord.py's cache: fetch the ones it does not hold
        channel = self.client.get_channel(thread_id) or await self.client.fetch_channel(thread_id)
        if not isinstance(channel, discord.Thread):
            raise Undeliverable(f"{ticket.customer_thread_ref} is not a thread")
        if unarchive and channel.archived:
            # Discord archives idle threads by itself: that does not close the ticket
            channel = await channel.edit(archived=False)
        return channel

    async def _post_answer(self, thread: discord.Thread, ticket: Ticket, message: Message, d: Delivery) -> str:
        files, notes = await self._files(message.attachments, thread.guild.filesize_limit, ticket.locale)
        text = "\n".join([self._answer_text(message, ticket), *notes])
        # addressed to the customer so Discord notifies them whatever their thread settings;
        # nothing else in the staff text can ping (everyone, roles and other users stay off)
        return await self._send(thread, self._addressed(ticket, text), self._to_customer(ticket), d, files=files)

    @staticmethod
    async def _send(thread: discord.Thread, text: str, mentions: discord.AllowedMentions, d: Delivery,
                    view: discord.ui.View | None = None, files: list[discord.File] | None = None) -> str:
        """Post text of any length (2,000 characters a message); buttons and files go with the last
        part. Returns the parts' ids, comma-separated: edits and deletions address them all."""
        chunks = split_text(text)
        ids = []
        for i, chunk in enumerate(chunks):
            extras: dict[str, Any] = {"view": view, "files": files or []} if i == len(chunks) - 1 else {}
            ids.append((await thread.send(chunk, allowed_mentions=mentions, nonce=nonce(d, i), **extras)).id)
        return ",".join(str(i) for i in ids)

    async def _files(self, attachments: tuple[Attachment, ...], limit: int,
                     locale: str) -> tuple[list[discord.File], list[str]]:
        """Copies of the files (Discord shows them; URLs from elsewhere expire or need a login)."""
        files: list[discord.File] = []
        notes: list[str] = []
        for att in attachments:
            if att.size > limit or len(files) >= MAX_FILES:
                notes.append(label("file_too_large", locale, filename=att.filename))
                continue
            try:
                data = await self.fetch_file(att)
            except (discord.NotFound, discord.Forbidden):
                notes.append(label("file_unavailable", locale, filename=att.filename))
                continue
            if len(data) > limit:
                notes.append(label("file_too_large", locale, filename=att.filename))
                continue
            files.append(discord.File(io.BytesIO(data), filename=att.filename))
        return files, notes

    async def _fetch_plain(self, attachment: Attachment) -> bytes:
        return await self.client.http.get_from_cdn(attachment.url)
