"""A desk on a real database between the real Slack app and the real Discord client, each
against its local fake: what the authorisation matrix and the fuzz tests drive."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from adapters.crypto import FernetCipher
from adapters.discord import DiscordCustomerPort, SupportClient, build_discord_client
from adapters.slack.pacing import ChannelPacer
from adapters.slack.runner import SlackParts, build_slack
from bot.commands import LinkAccount
from bot.customers.accounts import link_account
from bot.delivery.outbox import Dispatcher
from bot.desk import Desk
from bot.domain import AuditEntry, Message, Target, Ticket
from bot.ports import UnitOfWorkFactory
from tests.core_helpers import make_sql_desk
from tests.discord import payloads as p
from tests.discord.fake_discord import DiscordPyUrls, FakeDiscord
from tests.discord.flows import customer
from tests.slack.fake_slack import BOT_TOKEN, FakeSlack
from tests.slack.harness import SECRET, event_body, sign

# Discord customers
ALICE = p.user(111000000000000001, "Alice")  # owns the tickets
CAROL = p.user(111000000000000002, "Carol")  # a customer of her own account
DAVE = p.user(111000000000000003, "Dave")  # never linked
# Slack users (tests/slack/fake_slack.py): Bob is in #support-seo, Cat in #support-checkout, Eve in neither
BOB, CAT, EVE = "U0000BOB", "U0000CAT", "U0000EVE"
Effect = Callable[[], Awaitable[bool]]  # has the action had its effect yet?


async def within(condition: Any, seconds: float = 5.0) -> Any:
    """Poll a condition that background tasks (listeners, the gateway) make true."""
    async with asyncio.timeout(seconds):
        while not (result := condition()):  # noqa: ASYNC110 (state changed by other tasks)
            await asyncio.sleep(0.005)
    return result


@dataclass
class World:
    desk: Desk
    slack_fake: FakeSlack
    slack: SlackParts
    discord_fake: FakeDiscord
    client: SupportClient
    dispatcher: Dispatcher
    cipher: FernetCipher

    # --- reading the database --------------------------------------------------------

    async def ticket(self, n: int) -> Ticket:
        async with self.desk.uow() as uow:
            ticket = await uow.tickets.get(n)
        assert ticket is not None
        return ticket

    async def messages(self, n: int) -> list[Message]:
        async with self.desk.uow() as uow:
            return await uow.messages.for_ticket(n)

    async def audit(self, n: int) -> list[AuditEntry]:
        async with self.desk.uow() as uow:
            return await uow.audit.for_ticket(n)

    # --- setting up ------------------------------------------------------------------

    async def open(self) -> int:
        """A fresh SEO ticket of Alice's, delivered to both sides: its number."""
        from bot.tickets.opening import open_ticket
        from tests.core_helpers import form

        opened = await open_ticket(self.desk, form(customer(ALICE), subject=uuid.uuid4().hex))
        await self.deliver()
        ticket = await self.ticket(opened.number)
        await within(lambda: ticket.customer_thread_ref and self.client.get_channel(int(ticket.customer_thread_ref)))
        return opened.number

    async def deliver(self) -> None:
        await self.dispatcher.run_once()

    # --- Slack -----------------------------------------------------------------------

    async def slack_dispatch(self, body: str, content_type: str) -> BoltResponse:
        request = AsyncBoltRequest(body=body, headers=sign(body, content_type))
        return await self.slack.app.async_dispatch(request)

    def slack_answers(self, user: str) -> tuple[list[str], list[str]]:
        """What `user` was shown: ephemerals to them, and response_url answers (theirs in a test)."""
        ephemerals = [c["text"] for c in self.slack_fake.called("chat.postEphemeral") if c.get("user") == user]
        return ephemerals, [r.get("text", "") for r in self.slack_fake.responses]

    async def slack_answer(self, user: str, send: Any, effect: Effect | None = None) -> str:
        """Run `send()`; wait until `user` is shown something or `effect()` holds; what they were
        shown ("" if nothing)."""
        ephemerals, responses = self.slack_answers(user)
        await send()

        def shown() -> str:
            now_e, now_r = self.slack_answers(user)
            return (now_e[len(ephemerals):] or now_r[len(responses):] or [""])[-1]

        await self.settle(lambda: bool(shown()), effect)
        return shown()

    async def settle(self, answered: Any, effect: Effect | None) -> None:
        """Until answered() or effect(), within a generous bound (a wrong outcome shows after it)."""
        async def either() -> None:
            while not answered() and not (effect is not None and await effect()):
                await asyncio.sleep(0.01)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(either(), 3.0)
        await asyncio.sleep(0.05)  # an answer following the effect (e.g. a refusal after a log) lands

    async def staff_reply(self, n: int, user: str, text: str, effect: Effect | None = None) -> str:
        channel, thread_ts = ((await self.ticket(n)).staff_thread_ref or ":").split(":")
        ts = f"1700001{uuid.uuid4().int % 10**6:06d}.000100"
        event = {"type": "message", "user": user, "text": text, "ts": ts, "thread_ts": thread_ts,
                 "channel": channel, "channel_type": "channel"}
        body = event_body(event, f"Ev{uuid.uuid4().hex[:10]}")
        return await self.slack_answer(user, lambda: self.slack_dispatch(body, "application/json"), effect)

    async def tickets_command(self, user: str, text: str) -> str:
        body = urlencode({"token": "x", "team_id": "T0TEAM", "channel_id": "C0SEO", "user_id": user,
                          "command": "/tickets", "text": text, "response_url": self.slack_fake.response_url("cmd"),
                          "trigger_id": "t1", "api_app_id": "A0APP"})
        return await self.slack_answer(user, lambda: self.slack_dispatch(body, "application/x-www-form-urlencoded"))

    async def card_action(self, n: int, user: str, action: dict[str, Any], effect: Effect | None = None) -> str:
        channel, ts = ((await self.ticket(n)).staff_thread_ref or ":").split(":")
        payload = {"type": "block_actions", "team": {"id": "T0TEAM"}, "user": {"id": user}, "api_app_id": "A0APP",
                   "token": "x", "trigger_id": "t1", "container": {"type": "message", "message_ts": ts,
                                                                   "channel_id": channel},
                   "channel": {"id": channel}, "message": {"ts": ts, "text": "card"},
                   "response_url": self.slack_fake.response_url("action"),
                   "actions": [{"block_id": f"ticket-{n}", "action_ts": "1", **action}]}
        body = urlencode({"payload": json.dumps(payload)})
        return await self.slack_answer(user, lambda: self.slack_dispatch(body, "application/x-www-form-urlencoded"),
                                       effect)

    # --- Discord ---------------------------------------------------------------------

    def with_button(self, thread: int, custom_id: str) -> dict[str, Any]:
        """The bot's post in the thread that carries this button (a press names its message)."""
        return next(m for m in self.discord_fake.messages.values() if m["channel_id"] == str(thread)
                    and custom_id in json.dumps(m.get("components") or []))

    async def interact(self, payload: dict[str, Any]) -> str:
        await self.discord_fake.interact(payload)
        return await self.discord_fake.reply_text(payload)

    async def thread_message(self, n: int, who: dict[str, Any], text: str) -> str:
        """Write in the ticket's thread; the bot's reply there, if any ("" if none)."""
        thread = int((await self.ticket(n)).customer_thread_ref or 0)
        posts = lambda: [c.body.get("content") or "" for c in self.discord_fake.posts_in(thread)]  # noqa: E731
        before = len(posts())
        mid = p.snowflake()
        await self.discord_fake.dispatch("MESSAGE_CREATE", p.message(mid, thread, who, text))

        async def stored() -> bool:
            return any(m.customer_ref == str(mid) for m in await self.messages(n))

        await self.settle(lambda: len(posts()) > before, stored)
        return posts()[-1] if len(posts()) > before else ""


@contextlib.asynccontextmanager
async def world(uow_factory: UnitOfWorkFactory, **policy: Any) -> AsyncIterator[World]:
    desk = await make_sql_desk(uow_factory, **{"open_tickets_per_customer": 1000, **policy})
    cipher = FernetCipher.ephemeral()
    slack_fake = await FakeSlack().start()
    discord_fake = FakeDiscord()
    await discord_fake.start()
    urls = DiscordPyUrls()
    urls.aim(discord_fake.url)
    client = build_discord_client(desk, guild_id=p.GUILD_ID, support_channel_id=p.SUPPORT_ID, cipher=cipher,
                                  guild_ready_timeout=0.1)
    task: asyncio.Task[None] | None = None
    try:
        slack = build_slack(desk, token=BOT_TOKEN, signing_secret=SECRET, api_url=slack_fake.api_url, cipher=cipher)
        slack.port.pacer = ChannelPacer.unpaced()
        await client.login("fake-token")
        task = asyncio.create_task(client.connect(reconnect=False))
        await asyncio.wait_for(client.wait_until_ready(), 10)
        port = DiscordCustomerPort(client, desk, p.SUPPORT_ID)
        dispatcher = Dispatcher(desk.uow, desk.clock, {Target.STAFF: slack.port, Target.CUSTOMER: port})
        for who, email, key in ((ALICE, "alice@example.com", "SEO-ALICE"), (CAROL, "carol@example.com", "SEO-CAROL")):
            await link_account(desk, LinkAccount(customer(who), email, key))
        yield World(desk, slack_fake, slack, discord_fake, client, dispatcher, cipher)
    finally:
        await client.close()
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await discord_fake.stop()
        await slack_fake.stop()
        urls.restore()
