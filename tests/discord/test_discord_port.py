"""DiscordCustomerPort failures as the outbox needs them, DMs, and the invite URL."""

from __future__ import annotations

import discord
import pytest

from adapters.discord.invite import bot_permissions, invite_url
from adapters.discord.port import split_text
from bot.domain import Ticket
from bot.ports import Delivery, RetryLater, Undeliverable
from bot.texts import Text
from tests.discord import payloads as p
from tests.discord.conftest import Rig
from tests.discord.flows import ALICE, eventually, link_core, open_ticket


async def ticket_with_thread(rig: Rig) -> Ticket:
    await link_core(rig, ALICE, "alice@example.com", "SEO-ALICE")
    await open_ticket(rig, ALICE)
    await rig.dispatcher.run_once()
    [ticket] = rig.store.state.tickets.values()
    return ticket


def notice(ticket: Ticket, action: str = "post") -> Delivery:
    return Delivery(99, action, {"text": Text("answer_dm", {"number": ticket.number}).as_dict()}, ticket, None)


async def test_rate_limits_and_server_errors_mean_retry_later(rig: Rig) -> None:
    ticket = await ticket_with_thread(rig)
    thread = ticket.customer_thread_ref
    rig.fake.fail_next("POST", f"/channels/{thread}/messages", 429,
                       {"message": "slow down", "retry_after": 60.0, "global": False}, {"Via": "1.1 google"})
    with pytest.raises(RetryLater) as limited:
        await rig.port.deliver(notice(ticket))
    assert limited.value.retry_after == 60.0
    rig.fake.fail_next("POST", f"/channels/{thread}/messages", 503)
    with pytest.raises(RetryLater):
        await rig.port.deliver(notice(ticket))
    assert await rig.port.deliver(notice(ticket))  # and then it goes through


async def test_a_missing_thread_or_permission_is_undeliverable(rig: Rig) -> None:
    ticket = await ticket_with_thread(rig)
    rig.fake.fail_next("POST", f"/channels/{ticket.customer_thread_ref}/messages", 403,
                       {"message": "Missing Access", "code": 50001})
    with pytest.raises(Undeliverable, match="permission"):
        await rig.port.deliver(notice(ticket))
    ticket.customer_thread_ref = "123"
    with pytest.raises(Undeliverable, match="not found"):
        await rig.port.deliver(notice(ticket))


async def test_connection_errors_mean_retry_later(rig: Rig) -> None:
    ticket = await ticket_with_thread(rig)
    await rig.fake.stop()
    with pytest.raises(RetryLater):
        await rig.port.deliver(notice(ticket))


async def test_dm_goes_to_the_customer(rig: Rig) -> None:
    ticket = await ticket_with_thread(rig)
    rig.fake.users[int(ALICE["id"])] = ALICE
    assert await rig.port.deliver(notice(ticket, "dm"))
    [opened] = rig.fake.find("POST", "/users/@me/channels")
    assert opened.body["recipient_id"] == int(ALICE["id"])
    [dm] = rig.fake.posts_in(int(ALICE["id"] + "1"))
    assert dm.body["content"] == f"You have a new answer on ticket #{ticket.number}."


def test_split_text_keeps_every_character_within_the_limit() -> None:
    text = "a" * 1500 + "\n" + "b" * 1500 + " " + "c" * 2500
    chunks = split_text(text)
    assert all(len(c) <= 2000 for c in chunks)
    assert "".join(chunks).replace("\n", "").replace(" ", "") == text.replace("\n", "").replace(" ", "")
    assert split_text("short") == ["short"]


def test_invite_url_asks_for_exactly_the_permissions_used() -> None:
    url = invite_url(p.APP_ID)
    assert f"client_id={p.APP_ID}" in url and "scope=bot+applications.commands" in url
    perms = bot_permissions()
    assert f"permissions={perms.value}" in url
    used = {"read_messages", "send_messages", "send_messages_in_threads", "create_private_threads",
            "manage_threads", "read_message_history", "attach_files", "embed_links", "manage_messages"}
    assert {name for name, on in perms if on} == used
    assert not perms.administrator and not perms.mention_everyone and discord.Permissions.none() != perms


async def test_the_nudge_carries_the_close_button(rig: Rig) -> None:
    ticket = await ticket_with_thread(rig)
    nudge = Delivery(99, "post", {"text": Text("nudge", {"number": ticket.number}).as_dict(), "close_button": True},
                     ticket, None)
    await rig.port.deliver(nudge)
    posted = rig.fake.posts_in(int(ticket.customer_thread_ref or 0))[-1].body
    assert posted["content"].startswith(f"<@{ALICE['id']}> Has your question in ticket #{ticket.number}")
    [close] = [b for row in posted["components"] for b in row["components"]]
    assert close["custom_id"] == f"ticket:close:{ticket.number}"
    await rig.port.deliver(notice(ticket))
    assert not rig.fake.posts_in(int(ticket.customer_thread_ref or 0))[-1].body.get("components")


async def test_a_thread_in_the_cache_is_not_fetched_again(rig: Rig) -> None:
    ticket = await ticket_with_thread(rig)
    thread = int(ticket.customer_thread_ref or 0)
    await eventually(lambda: rig.client.get_channel(thread))
    await rig.port.deliver(notice(ticket))
    assert not rig.fake.find("GET", rf"/channels/{thread}")
