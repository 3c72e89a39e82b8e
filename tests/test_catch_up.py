"""Issue 10: nothing written while the bot is away is lost. Discord replays missed events only on
a RESUME; after a new session the bot reads the ticket threads' history. Slack retries for a few
minutes only; at start the bot reads open tickets' Slack threads. Both through the real clients
against the local fakes, each message relayed once and in order."""

from __future__ import annotations

import asyncio
from typing import Any

from adapters.slack.catch_up import catch_up_slack
from adapters.slack.client import parse_ref
from adapters.slack.runner import build_slack
from bot.domain import Ticket
from tests.discord.flows import ALICE, eventually
from tests.e2e_helpers import deliver_until, post_slack_event
from tests.e2e_world import World, link_and_open
from tests.slack.fake_slack import BOT_TOKEN


async def opened(w: World) -> tuple[Ticket, int, str]:
    """A ticket whose Discord thread and Slack card exist."""
    await link_and_open(w)
    await w.dispatcher.run_once()
    [ticket] = await w.tickets()
    assert ticket.customer_thread_ref and ticket.staff_thread_ref
    thread = int(ticket.customer_thread_ref)
    await eventually(lambda: w.client.get_channel(thread))
    # the first session's catch-up runs once READY settles (guild_ready_timeout): let it pass
    await eventually(lambda: w.client.catching_up and w.client.catching_up.done(), within=10)  # type: ignore[attr-defined]
    return ticket, thread, parse_ref(ticket.staff_thread_ref)[1]


def slack_thread_texts(w: World, card_ts: str) -> list[str]:
    return [c["text"] for c in w.slack.called("chat.postMessage") if c.get("thread_ts") == card_ts]


async def relayed_to_slack(w: World, card_ts: str, count: int) -> list[str]:
    def enough() -> list[str] | None:
        texts = [t for t in slack_thread_texts(w, card_ts) if t.startswith("*Alice* (customer)")]
        return texts if len(texts) >= count else None
    return await deliver_until(w.dispatcher, enough, within=20)


async def test_a_new_gateway_session_reads_what_was_written_meanwhile(world: World) -> None:
    w = world
    ticket, thread, card_ts = await opened(w)
    await w.discord.write(thread, ALICE, "before the drop")
    await relayed_to_slack(w, card_ts, 1)
    sessions = w.discord.identified
    first_catch_up = w.client.catching_up  # type: ignore[attr-defined]

    w.discord.refuse_gateway = True  # the bot cannot reconnect while the customer writes
    await w.discord.drop_connections(invalidate=True)
    for i in range(3):
        await w.discord.write(thread, ALICE, f"while away {i}")
    w.discord.refuse_gateway = False

    texts = await relayed_to_slack(w, card_ts, 4)
    assert texts == ["*Alice* (customer): before the drop"] + [f"*Alice* (customer): while away {i}" for i in range(3)]
    assert w.discord.identified == sessions + 1  # the RESUME was refused: a new session
    caught = w.client.catching_up  # type: ignore[attr-defined]
    assert caught is not first_catch_up and await caught == 3
    assert w.runtime.metrics.caught_up.labels("discord")._value.get() == 3  # the metric counts them
    assert await w.client.catch_up() == 0  # type: ignore[attr-defined]  # nothing twice
    await w.dispatcher.run_once()
    assert len(slack_thread_texts(w, card_ts)) == 4


async def test_a_live_message_stored_before_the_catch_up_reads_its_thread_hides_nothing(world: World) -> None:
    """Live events flow from READY on, and discord.py dispatches them while the catch-up has not
    read the thread yet: the newest stored message is then newer than what was missed."""
    w = world
    ticket, thread, card_ts = await opened(w)
    await w.discord.write(thread, ALICE, "before the drop")
    await relayed_to_slack(w, card_ts, 1)
    sessions = w.discord.identified
    gate = asyncio.Event()
    catch_up = w.client.catch_up  # type: ignore[attr-defined]

    async def held_catch_up() -> int:
        await gate.wait()
        return await catch_up()
    w.client.catch_up = held_catch_up  # type: ignore[attr-defined]

    w.discord.refuse_gateway = True
    await w.discord.drop_connections(invalidate=True)
    for i in range(2):
        await w.discord.write(thread, ALICE, f"while away {i}")
    w.discord.refuse_gateway = False
    await eventually(lambda: w.discord.identified == sessions + 1, within=20)
    await w.discord.write(thread, ALICE, "live, before the catch-up")  # stored at once
    await relayed_to_slack(w, card_ts, 2)
    gate.set()

    texts = await relayed_to_slack(w, card_ts, 4)
    assert sorted(texts[2:]) == [f"*Alice* (customer): while away {i}" for i in range(2)]
    assert await w.client.catching_up == 2  # type: ignore[attr-defined]  # the live one is not counted again
    await w.dispatcher.run_once()
    assert len(slack_thread_texts(w, card_ts)) == 4  # and not relayed twice


async def test_a_resumed_session_gets_the_missed_events_replayed_once(world: World) -> None:
    w = world
    ticket, thread, card_ts = await opened(w)
    sessions = w.discord.identified
    w.discord.refuse_gateway = True
    await w.discord.drop_connections()
    for i in range(3):
        await w.discord.write(thread, ALICE, f"during the drop {i}")
    w.discord.refuse_gateway = False
    texts = await relayed_to_slack(w, card_ts, 3)
    assert texts == [f"*Alice* (customer): during the drop {i}" for i in range(3)]
    await eventually(lambda: w.discord.resumed, within=10)
    assert w.discord.identified == sessions  # resumed, not a new session


def staff_reply(channel: str, thread_ts: str, ts: str, text: str) -> dict[str, Any]:
    return {"type": "message", "user": "U0000BOB", "text": text, "ts": ts, "thread_ts": thread_ts,
            "channel": channel, "channel_type": "channel"}


async def test_slack_replies_written_while_away_are_read_at_start_once(world: World) -> None:
    w = world
    ticket, thread, card_ts = await opened(w)
    assert ticket.staff_thread_ref
    channel = parse_ref(ticket.staff_thread_ref)[0]
    # one reply Slack delivered live, two written while no bot acknowledged events
    live_ts = w.slack.write_reply(channel, card_ts, "U0000BOB", "first, heard live")
    assert await post_slack_event(w.slack_port, staff_reply(channel, card_ts, live_ts, "first, heard live"),
                                  "EvLive") == 200
    w.slack.write_reply(channel, card_ts, "U0000BOB", "second, while away")
    w.slack.write_reply(channel, card_ts, "U0000BOT", "a bot's own line")  # no bot_id: a person? no, ours
    w.slack.history[channel][-1]["bot_id"] = "B0BOT"
    w.slack.write_reply(channel, card_ts, "U0000BOB", "third, while away")

    parts = build_slack(w.runtime.desk, token=BOT_TOKEN, api_url=w.slack.api_url)
    assert await catch_up_slack(parts.app, parts.client, w.runtime.desk, min_interval=0) == 2

    def answers() -> list[str] | None:
        got = [c.body["content"] for c in w.discord.posts_in(thread) if "(support)" in c.body.get("content", "")]
        return got if len(got) >= 3 else None
    got = await deliver_until(w.dispatcher, answers, within=10)
    assert [g.split(": ", 1)[1] for g in got] == ["first, heard live", "second, while away", "third, while away"]
    # a second start reads nothing new, and a late Slack retry of the live one relays nothing
    assert await catch_up_slack(parts.app, parts.client, w.runtime.desk, min_interval=0) == 0
    assert await post_slack_event(w.slack_port, staff_reply(channel, card_ts, live_ts, "first, heard live"),
                                  "EvLive") == 200
    await w.dispatcher.run_once()
    assert len([c for c in w.discord.posts_in(thread) if "(support)" in c.body.get("content", "")]) == 3
    await parts.client.session.close() if parts.client.session else None


async def test_a_slack_reply_heard_live_before_the_catch_up_hides_no_older_one(world: World) -> None:
    w = world
    ticket, thread, card_ts = await opened(w)
    assert ticket.staff_thread_ref
    channel = parse_ref(ticket.staff_thread_ref)[0]
    listening_from = w.runtime.desk.clock.now()  # the bot (re)started listening for events here
    w.slack.write_reply(channel, card_ts, "U0000BOB", "written while away")  # its event was never heard
    live_ts = w.slack.write_reply(channel, card_ts, "U0000BOB", "newer, heard live")
    assert await post_slack_event(w.slack_port, staff_reply(channel, card_ts, live_ts, "newer, heard live"),
                                  "EvLive2") == 200

    parts = build_slack(w.runtime.desk, token=BOT_TOKEN, api_url=w.slack.api_url)
    assert await catch_up_slack(parts.app, parts.client, w.runtime.desk, min_interval=0,
                                stored_before=listening_from) == 1

    def answers() -> list[str] | None:
        got = [c.body["content"] for c in w.discord.posts_in(thread) if "(support)" in c.body.get("content", "")]
        return got if len(got) >= 2 else None
    got = await deliver_until(w.dispatcher, answers, within=10)
    assert sorted(g.split(": ", 1)[1] for g in got) == ["newer, heard live", "written while away"]
    await parts.client.session.close() if parts.client.session else None
