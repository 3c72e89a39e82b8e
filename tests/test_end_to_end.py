"""Issue 5, end to end: both platform fakes and the real composition root in one event loop.

A customer links and opens a ticket in (fake) Discord, the card lands in (fake) Slack, a
signed Slack thread reply reaches the Discord thread, and the customer's answer goes back
to the Slack thread. Only the platforms are fakes: settings, SQLite, migrations, adapters,
`start_platforms` and the outbox are the ones `supportbot run` uses.
"""

from __future__ import annotations

import json

from adapters.slack.card import card_blocks
from adapters.slack.client import parse_ref
from bot.customers.accounts import linked_identities
from tests.discord import payloads as p
from tests.discord.flows import ALICE, eventually
from tests.e2e_helpers import deliver_until, post_slack_event
from tests.e2e_world import World, link_and_open


async def test_a_ticket_travels_from_discord_to_slack_and_back(world: World) -> None:
    w = world
    ticket = await link_and_open(w)

    # the outbox opens the private Discord thread and posts the card in the product's Slack channel
    await w.dispatcher.run_once()
    [ticket] = await w.tickets()
    [card] = w.slack.called("chat.postMessage")
    assert card["channel"] == "C0SEO" and card["text"] == f"Ticket #{ticket.number}: Sitemap xml is empty"
    async with w.runtime.desk.uow() as uow:
        identities = await linked_identities(uow, ticket.account_id)
    assert card["blocks"] == card_blocks(ticket, w.runtime.desk.policy, w.runtime.desk.clock.now(), identities)
    assert "Alice (discord " in json.dumps(card["blocks"])  # staff see who is linked to the account
    assert card["blocks"][0]["text"]["text"] == f"#{ticket.number} Sitemap xml is empty"
    channel, card_ts = parse_ref(ticket.staff_thread_ref)
    assert channel == "C0SEO"
    assert ticket.customer_thread_ref is not None
    thread = int(ticket.customer_thread_ref)
    [created] = w.discord.find("POST", rf"/channels/{p.SUPPORT_ID}/threads")
    assert created.body["type"] == 12  # private
    await eventually(lambda: w.client.get_channel(thread))  # THREAD_CREATE reached the client's cache

    # a staff member answers in the card's thread: a signed events_api callback over HTTP
    reply = {"type": "message", "user": "U0000BOB", "text": "@everyone please regenerate it in admin",
             "ts": "1700000500.000001", "thread_ts": card_ts, "channel": "C0SEO", "channel_type": "channel"}
    assert await post_slack_event(w.slack_port, reply, "EvStaff1") == 200
    answers = await deliver_until(w.dispatcher, lambda: [c for c in w.discord.posts_in(thread)
                                                         if "(support)" in c.body.get("content", "")])
    [answer] = answers
    assert answer.body["content"] == f"<@{ALICE['id']}> **Bob** (support): @everyone please regenerate it in admin"
    mentions = answer.body["allowed_mentions"]  # the customer is notified; @everyone pings no one
    assert mentions["parse"] == [] and mentions["users"] == [int(ALICE["id"])] and not mentions.get("roles")
    [reaction] = w.slack.called("reactions.add")  # Slack shows the answer was delivered
    assert (reaction["channel"], reaction["timestamp"], reaction["name"]) == ("C0SEO", reply["ts"],
                                                                               "white_check_mark")

    # the customer answers in the Discord thread: it goes to the Slack thread, escaped
    said = p.message(p.snowflake(), thread, ALICE, "Still empty <!channel> & no products")
    await w.discord.dispatch("MESSAGE_CREATE", said)
    relayed = await deliver_until(w.dispatcher, lambda: [c for c in w.slack.called("chat.postMessage")
                                                         if c.get("thread_ts") == card_ts])
    [back] = relayed
    assert back["channel"] == "C0SEO"
    assert back["text"] == "*Alice* (customer): Still empty &lt;!channel&gt; &amp; no products"
    assert "<!channel>" not in back["text"]


async def test_a_pass_over_an_empty_outbox_does_not_wake_the_dispatcher(world: World) -> None:
    world.dispatcher.wake.clear()
    assert await world.dispatcher.run_once() == 0
    assert not world.dispatcher.wake.is_set()
