"""Issue 12 on the Discord side (real discord.py client against the fake): no message vanishes,
odd numbers get a sentence, and the first identity of an account hears of a newcomer."""

from __future__ import annotations

import json

import pytest

from bot.domain import MessageKind, OutboxStatus
from tests.discord import payloads as p
from tests.discord.conftest import Rig
from tests.discord.flows import ALICE, CAROL, eventually, link_core, open_ticket

MALLORY = p.user(111000000000000009, "Mallory")


def customer_bodies(rig: Rig) -> list[str]:
    return [m.body for m in rig.store.state.messages.values() if m.kind is MessageKind.CUSTOMER]


def replies_in(rig: Rig, channel: int) -> list[str]:
    return [c.body.get("content") or "" for c in rig.fake.posts_in(channel)]


async def alices_ticket_thread(rig: Rig) -> int:
    """Alice links, opens a ticket, and its Discord thread exists in the client's cache."""
    await link_core(rig, ALICE, "alice@example.com", "SEO-ALICE")
    await open_ticket(rig, ALICE)
    [number] = rig.store.state.tickets
    await rig.dispatcher.run_once()
    thread = int(rig.store.state.tickets[number].customer_thread_ref or 0)
    await eventually(lambda: rig.client.get_channel(thread))
    return thread


async def test_a_message_written_before_the_first_post_arrived_is_kept(rig: Rig) -> None:
    """2a: the thread is recorded as soon as it exists; the summary's post failing must not lose
    what the customer writes meanwhile, and the retry reuses the same thread."""
    await link_core(rig, ALICE, "alice@example.com", "SEO-ALICE")
    await open_ticket(rig, ALICE)
    [number] = rig.store.state.tickets
    rig.fake.fail_next("POST", r"/channels/\d+/messages", 429,  # longer than the client waits: retry later
                       {"message": "slow down", "retry_after": 60.0, "global": False}, {"Via": "1.1 google"})
    await rig.dispatcher.run_once()
    ticket = rig.store.state.tickets[number]
    assert ticket.customer_thread_ref  # recorded although the delivery failed
    thread = int(ticket.customer_thread_ref)
    [row] = [o for o in rig.store.state.outbox.values() if o.action == "open_thread"]
    assert row.status is OutboxStatus.PENDING and row.attempts == 1
    await eventually(lambda: rig.client.get_channel(thread))
    await rig.fake.dispatch("MESSAGE_CREATE", p.message(p.snowflake(), thread, ALICE, "are you there?"))
    await eventually(lambda: customer_bodies(rig) == ["are you there?"])
    rig.desk.clock.advance(seconds=120)  # type: ignore[attr-defined]
    await rig.dispatcher.run_once()
    assert rig.store.state.outbox[row.id].status is OutboxStatus.DELIVERED  # type: ignore[index]
    assert len(rig.fake.find("POST", r"/channels/\d+/threads")) == 1
    assert rig.store.state.tickets[number].customer_thread_ref == str(thread)


async def test_a_message_in_a_thread_that_is_no_ticket_is_answered(rig: Rig) -> None:
    """2a: never dropped in silence."""
    stray = p.snowflake()
    rig.fake.channels[stray] = p.thread(stray, p.SUPPORT_ID, "chit-chat", owner=int(ALICE["id"]))
    await rig.fake.dispatch("THREAD_CREATE", {**rig.fake.channels[stray], "newly_created": True})
    await eventually(lambda: rig.client.get_channel(stray))
    await rig.fake.dispatch("MESSAGE_CREATE", p.message(p.snowflake(), stray, ALICE, "hello?"))
    await eventually(lambda: replies_in(rig, stray))
    assert replies_in(rig, stray) == ["This thread is not an open ticket: your message was not sent to support. "
                                      "Open a ticket with /ticket open."]


async def test_someone_else_in_a_ticket_thread_is_told_nothing_was_sent(rig: Rig) -> None:
    thread = await alices_ticket_thread(rig)
    before = len(replies_in(rig, thread))
    await rig.fake.dispatch("MESSAGE_CREATE", p.message(p.snowflake(), thread, CAROL, "me too!"))
    await eventually(lambda: len(replies_in(rig, thread)) > before)
    assert replies_in(rig, thread)[-1].startswith("Only the customer who opened this ticket")
    assert customer_bodies(rig) == []


async def test_a_failure_while_storing_is_told_to_the_sender(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    """2b's symptom on PostgreSQL was a message neither relayed nor answered: any failure is answered."""
    async def broken(*_: object) -> None:
        raise RuntimeError("database refused the text")

    monkeypatch.setattr("adapters.discord.client.customer_post", broken)
    thread = await alices_ticket_thread(rig)
    before = len(replies_in(rig, thread))
    await rig.fake.dispatch("MESSAGE_CREATE", p.message(p.snowflake(), thread, ALICE, "with \x00 inside"))
    await eventually(lambda: len(replies_in(rig, thread)) > before)
    assert replies_in(rig, thread)[-1].startswith("Sorry, your message could not be passed on to support")


@pytest.mark.parametrize("sub", ["status", "close"])
async def test_a_number_beyond_32_bits_is_a_ticket_that_does_not_exist(rig: Rig, sub: str) -> None:
    await link_core(rig, ALICE, "alice@example.com", "SEO-ALICE")
    await open_ticket(rig, ALICE)
    command = p.slash("ticket", sub, ALICE, number=3000000000)
    await rig.fake.interact(command)
    assert await rig.fake.reply_text(command) == "There is no ticket #3000000000 of yours."
    assert all(t.is_open for t in rig.store.state.tickets.values())


async def test_the_first_identity_gets_a_dm_when_another_links(rig: Rig) -> None:
    await link_core(rig, ALICE, "alice@example.com", "SEO-ALICE")
    await link_core(rig, MALLORY, "alice@example.com", "seo-alice")  # knows her e-mail and key
    await rig.dispatcher.run_once()
    [opened_dm] = rig.fake.find("POST", "/users/@me/channels")
    assert str(opened_dm.body["recipient_id"]) == ALICE["id"]
    dm_channel = int(str(ALICE["id"]) + "1")  # the fake's DM channel id for a user
    [dm] = replies_in(rig, dm_channel)
    assert dm.startswith(f"Another Discord account, {MALLORY['global_name']}, has just linked")
    assert "ask our staff to unlink" in dm and json.dumps(rig.fake.posts_in(dm_channel)[0].body).count("@") <= 1
