"""The Discord client: gateway events of ticket threads and the guild's command tree."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import discord
from discord import app_commands

from adapters.discord.commands import LabelTranslator, on_tree_error, register
from adapters.discord.labels import label, say
from adapters.discord.lifecycle import OwnedTasks
from adapters.discord.rating import RateButton
from adapters.discord.replies import PLATFORM, lang, safe_reply
from adapters.discord.turns import Turns
from adapters.discord.views import AccessButton, CloseButton
from bot.commands import Customer, CustomerPost, Edit
from bot.delivery.catch_up import OpenThread, open_threads
from bot.desk import Desk
from bot.domain import Attachment
from bot.ports import Cipher
from bot.tickets.conversation import customer_post, edit_message

log = logging.getLogger(__name__)

STALE_AFTER = 2.0  # seconds; Discord gives up on an interaction after 3
PLATFORM_SIDE = "customer"  # Discord is the customers' side of a ticket


def minimal_intents() -> discord.Intents:
    """Guilds (channels, threads), guild messages, and Message Content (privileged: enable it in
    the developer portal) to read ticket threads. No members, no presences."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.message_content = True
    return intents


class SupportClient(OwnedTasks):
    def __init__(self, desk: Desk, *, guild_id: int, support_channel_id: int, cipher: Cipher | None = None,
                 **options: Any) -> None:
        # one guild: READY is followed by its GUILD_CREATE at once; on_ready (and the catch-up
        # after downtime) waits this long after the last guild
        options.setdefault("guild_ready_timeout", 0.5)
        super().__init__(
            intents=minimal_intents(),
            allowed_mentions=discord.AllowedMentions.none(),  # a relayed "@everyone" pings no one
            chunk_guilds_at_startup=False,
            max_ratelimit_timeout=30.0,  # longer rate limits go back to the outbox (RetryLater)
            **options,
        )
        self.desk = desk
        self.cipher = cipher  # encrypts temporary access from the private form (AccessButton)
        self.guild_id, self.support_channel_id = guild_id, support_channel_id
        # ids of messages the bot deleted itself (a pasted secret): Discord reports those deletions
        # back, and passing them on would delete the redacted copy staff keep
        self.deleted_by_bot: set[int] = set()
        self.stale_after = STALE_AFTER
        self.catching_up: asyncio.Task[int] | None = None
        self.connected_at: datetime | None = None  # the current gateway session's (on_connect)
        self.caught_up: Callable[[int], object] = lambda count: None  # a metric's hook (supportbot/metrics_inbound.py)
        self.turns = Turns()  # one thread's messages are stored in the order they came
        self.tree: app_commands.CommandTree[SupportClient] = app_commands.CommandTree(self)
        self.tree.on_error = on_tree_error  # type: ignore[method-assign]
        register(self.tree, desk, discord.Object(id=guild_id))

    async def setup_hook(self) -> None:
        self.add_dynamic_items(CloseButton, AccessButton, RateButton)
        await self.tree.set_translator(LabelTranslator())
        await self.tree.sync(guild=discord.Object(id=self.guild_id))
        log.info("discord commands synced to guild %s", self.guild_id)

    async def on_connect(self) -> None:
        """A session's READY (or a RESUME) came: live messages flow from now on, so the catch-up
        resumes each thread after the newest customer message stored before this moment."""
        self.connected_at = self.desk.clock.now()

    async def on_ready(self) -> None:
        """A new gateway session (the start, or a RESUME Discord refused): Discord replays nothing
        written meanwhile, so read it from the open tickets' threads. A later session restarts it."""
        if self.catching_up is not None:
            self.catching_up.cancel()
        self.catching_up = asyncio.create_task(self.catch_up(), name="discord-catch-up")

    async def close(self) -> None:
        if self.catching_up is not None:
            self.catching_up.cancel()
            await asyncio.gather(self.catching_up, return_exceptions=True)
        await super().close()

    async def catch_up(self) -> int:
        """Relay the customer messages of open tickets that no gateway event brought; returns how many."""
        recovered = 0
        for thread in await open_threads(self.desk, PLATFORM_SIDE, self.connected_at):
            try:
                recovered += await self._catch_up_thread(thread)
            except discord.HTTPException as exc:  # a deleted thread or lost access: the others still count
                log.warning("Discord catch-up: could not read ticket #%s's thread: %s", thread.number, exc)
        log.info("Discord catch-up: %s customer message(s) written without a live session were read "
                 "from history", recovered)
        self.caught_up(recovered)
        return recovered

    async def _catch_up_thread(self, thread: OpenThread) -> int:
        def ids(refs: tuple[str, ...]) -> set[int]:
            return {int(part) for ref in refs for part in ref.split(",") if part.isdigit()}
        known = ids(thread.known_refs)
        after = max(ids(thread.resume_refs) | {int(thread.thread_ref)})  # snowflakes grow with time
        channel = self.get_channel(int(thread.thread_ref)) or await self.fetch_channel(int(thread.thread_ref))
        if not isinstance(channel, discord.Thread):
            return 0
        recovered = 0
        async with self.turns.of(channel.id):  # live messages of this thread wait for what they follow
            async for message in channel.history(after=discord.Object(after), oldest_first=True, limit=None):
                if self.relayable(message) and message.id not in known:
                    await self._relay(message)  # the live path: checks, redaction, deduplication
                    recovered += 1
        return recovered

    def in_support_thread(self, channel: Any) -> bool:
        """A thread of the support channel. An uncached channel may be an archived thread:
        the core knows whether it belongs to a ticket."""
        if isinstance(channel, discord.Thread):
            return channel.parent_id == self.support_channel_id
        return isinstance(channel, discord.PartialMessageable)

    def relayable(self, message: discord.Message) -> bool:
        """A person's message in a ticket thread (not the bot's, not a join or a pin)."""
        return (not message.author.bot and message.guild is not None and self.in_support_thread(message.channel)
                and message.type in (discord.MessageType.default, discord.MessageType.reply))

    async def on_message(self, message: discord.Message) -> None:
        if self.relayable(message):
            async with self.turns.of(message.channel.id):
                await self._relay(message)

    async def _relay(self, message: discord.Message) -> None:
        author = message.author
        cmd = CustomerPost(
            Customer(PLATFORM, str(author.id), author.display_name),
            event_id=str(message.id),
            body=message.content,
            thread_ref=str(message.channel.id),
            attachments=tuple(Attachment(a.filename, a.url, a.content_type or "", a.size)
                              for a in message.attachments),
        )
        try:
            answer = await customer_post(self.desk, cmd)
            if answer is not None:
                await message.reply(say(answer, await self._locale_of(str(author.id))), mention_author=False)
        except Exception:
            # never lost in silence: the sender hears that it was not sent (Discord does not redeliver)
            log.exception("relaying discord message %s failed", message.id)
            try:
                await message.reply(label("message_not_sent", await self._locale_of(str(author.id))),
                                    mention_author=False)
            except Exception:
                log.exception("could not tell the author of discord message %s", message.id)

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        data: Any = payload.data
        if (data.get("author") or {}).get("bot") or "content" not in data:
            return
        stamp = data.get("edited_timestamp") or ""
        await self._edit(Edit("customer", f"edit:{payload.message_id}:{stamp}", str(payload.message_id),
                              data["content"]))

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        await self._deleted(payload.message_id)

    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        """A moderator's purge: each message is a deletion like any other."""
        for message_id in sorted(payload.message_ids):
            await self._deleted(message_id)

    async def _deleted(self, message_id: int) -> None:
        if message_id in self.deleted_by_bot:
            self.deleted_by_bot.discard(message_id)
            return
        await self._edit(Edit("customer", f"delete:{message_id}", str(message_id), None))

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        """A button or form nobody handles (pressed twice, or its view expired or died with a
        restart) would leave Discord's "interaction failed": answer it with a sentence."""
        if interaction.type not in (discord.InteractionType.component, discord.InteractionType.modal_submit):
            return
        await asyncio.sleep(self.stale_after)  # the handlers answer or defer at once
        if not interaction.response.is_done():
            await safe_reply(interaction, label("stale_interaction", lang(interaction)))

    async def _edit(self, cmd: Edit) -> None:
        try:
            await edit_message(self.desk, cmd)  # same content (a link unfurl) changes nothing there
        except Exception:
            log.exception("passing on discord edit %s failed", cmd.event_id)

    async def _locale_of(self, user_id: str) -> str:
        async with self.desk.uow() as uow:
            identity = await uow.identities.get(PLATFORM, user_id)
        return identity.locale if identity else "en"


def build_discord_client(desk: Desk, *, guild_id: int, support_channel_id: int, cipher: Cipher | None = None,
                         **options: Any) -> SupportClient:
    """The composition root then starts it in its loop:
    `await client.login(token); asyncio.create_task(client.connect())`.
    `cipher` (supportbot.bootstrap.Runtime.cipher) is needed for the temporary-access form."""
    return SupportClient(desk, guild_id=guild_id, support_channel_id=support_channel_id, cipher=cipher, **options)
