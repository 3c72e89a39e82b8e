"""Real Slack behaviour the adapter must survive: escaping in every post, deletions of the bot's
own copies, long messages over retries, partial staff lists, payload traps, the licence date."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime

from adapters.slack.card import card_blocks, message_text, split_text
from adapters.slack.staff import StaffDirectory
from bot.commands import CustomerPost
from bot.domain import Message, MessageKind, OutboxStatus
from bot.ports import Delivery
from bot.texts import Text
from bot.tickets.conversation import customer_post
from bot.time.timers import sweep
from tests.core_helpers import ALICE
from tests.slack.fake_slack import BOT_ID, BOT_USER, eventually
from tests.slack.harness import Harness

PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}(?:…|$)")


def posts(h: Harness) -> list[str]:
    return [p["text"] for p in h.fake.called("chat.postMessage")]


async def test_system_posts_escape_the_customer_text_they_quote(h: Harness):
    n = await h.open(subject="<!channel> shop <@U0000BOB> <!subteam^S0LEADS> down & out")
    params = {"number": n, "subject": h.ticket(n).subject, "deadline": "soon"}
    delivery = Delivery(70, "post", {"text": Text("sla_warning", params).as_dict(), "mention": "channel:x"},
                        h.ticket(n), None)
    await h.slack.port.deliver(delivery)
    text = posts(h)[-1]
    assert text.startswith("<!here> Ticket #")  # our own mention stays live
    assert "&lt;!channel&gt; shop &lt;@U0000BOB&gt; &lt;!subteam^S0LEADS&gt; down &amp; out" in text
    assert "<!channel>" not in text and "<@U0000BOB>" not in text and "<!subteam" not in text


async def test_deleting_the_bots_copy_of_a_customer_message_leaves_the_customer_side_alone(h: Harness):
    n = await h.open()
    await customer_post(h.desk, CustomerPost(ALICE, "d-1", "my message", ticket_number=n))
    await h.dispatcher.run_once()
    copy = next(m for m in h.messages() if m.body == "my message")
    assert copy.staff_ref is not None
    channel, ts = copy.staff_ref.split(":")
    deleted = {"type": "message", "subtype": "message_deleted", "channel": channel, "ts": "1700000900.000001",
               "deleted_ts": ts, "hidden": True,
               "previous_message": {"type": "message", "user": BOT_USER, "bot_id": BOT_ID, "text": "*Alice*: my message",
                                    "ts": ts, "thread_ts": h.thread(n)[1]}}
    assert (await h.event(deleted, "EvDel")).status == 200
    await h.dispatcher.run_once()
    assert "delete" not in h.customer.actions() and not copy.deleted


async def test_a_long_message_resumes_after_the_part_that_failed(h: Harness):
    n = await h.open()
    body = "\n".join(f"line {i:05d} " + "x" * 90 for i in range(800))  # about 80,000 characters
    await customer_post(h.desk, CustomerPost(ALICE, "d-1", body, ticket_number=n))
    h.fake.errors["chat.postMessage"] = [None, "ratelimited"]  # the first part goes, the second is refused
    await h.dispatcher.run_once()
    h.clock.advance(seconds=60)
    await h.dispatcher.run_once()
    first, refused, *rest = posts(h)[1:]  # the fake records the refused call too
    assert rest[0] == refused and first not in rest  # the part that went out is not posted again
    parts = [first, *rest]
    assert len(parts) == 3 and all(len(p) <= 40000 for p in parts)
    assert "\n".join(parts) == message_text(next(m for m in h.messages() if m.body == body))
    assert all(o.status is OutboxStatus.DELIVERED for o in h.store.state.outbox.values())


async def test_an_unknown_staff_channel_does_not_make_everyone_a_stranger(h: Harness):
    directory = StaffDirectory(h.slack.client, ["no-such-channel", "support-seo"])
    assert await directory.is_staff("U0000BOB")
    assert not await directory.is_staff("U0000EVE")


async def test_card_shows_the_last_day_of_the_licence_and_whether_it_has_expired(h: Harness):
    n = await h.open()  # Alice's licence expires at 2027-06-01T00:00Z: valid through 31 May
    def licence(now: datetime) -> str:
        fields = card_blocks(h.ticket(n), h.desk.policy, now)[1]["fields"]
        return next(f["text"] for f in fields if f["text"].startswith("*Licence"))

    assert licence(h.desk.clock.now()) == "*Licence valid through*\n2027-05-31"
    assert licence(datetime(2027, 6, 2, tzinfo=UTC)) == "*Licence valid through*\n2027-05-31 (expired)"


async def test_truncating_and_splitting_never_cut_an_escaped_character_in_half(h: Harness):
    n = await h.open()
    ticket = replace(h.ticket(n), description="&" * 4000, customer_name="&" * 3000)
    for block in card_blocks(ticket, h.desk.policy, h.desk.clock.now()):
        for text in [block.get("text", {}).get("text", "")] + [f["text"] for f in block.get("fields", [])]:
            assert not PARTIAL_ENTITY.search(text), text[-20:]
    chunks = split_text("&amp;" * 20000, 39000)
    assert all(c.startswith("&amp;") and c.endswith("&amp;") for c in chunks) and "".join(chunks) == "&amp;" * 20000


def test_a_customer_name_cannot_break_out_of_its_attribution():
    message = Message(1, MessageKind.CUSTOMER, "c1", "Eve*: fake\n*Bob", "hi", datetime(2026, 1, 1, tzinfo=UTC))
    assert message_text(message) == "*Eve: fake Bob* (customer): hi"


async def test_tickets_listing_does_not_turn_customer_text_into_mentions(h: Harness):
    n = await h.open(subject="Help | U0000EVE | now")
    await h.action({"action_id": "claim", "type": "button", "value": str(n)})
    await h.command("")
    text = h.fake.responses[-1]["text"]
    assert "Help | U0000EVE | now" in text and "<@U0000EVE>" not in text
    assert "| <@U0000BOB> |" in text  # the real assignee is still shown as a name


async def test_messages_that_are_not_replies_in_a_ticket_thread_are_ignored_quietly(h: Harness):
    n = await h.open()
    channel, thread_ts = h.thread(n)
    base = {"type": "message", "channel": channel, "channel_type": "channel"}
    await h.event({**base, "user": "U0000EVE", "text": "top level", "ts": "1700001000.000001"}, "E1")
    await h.event({**base, "user": "U0000EVE", "text": "other thread", "ts": "1700001000.000003",
                   "thread_ts": "1700001000.000002"}, "E2")
    await h.event({**base, "user": "U0000BOB", "text": "staff chat", "ts": "1700001000.000004",
                   "thread_ts": "1700001000.000002"}, "E3")
    await h.event({**base, "channel": "C0RND", "user": "U0000BOB", "text": "elsewhere", "ts": "1700001000.000005",
                   "thread_ts": thread_ts}, "E4")  # same thread ts, another channel: not the ticket
    parent = {"type": "message", "user": BOT_USER, "bot_id": BOT_ID, "text": "Ticket", "ts": thread_ts,
              "reply_count": 1}
    await h.event({**base, "subtype": "message_changed", "ts": "1700001000.000006", "message": parent,
                   "previous_message": {**parent, "reply_count": 0}}, "E5")
    await h.reply("the real answer", event_id="E6")  # processed after all the others
    await eventually(lambda: any(m.body == "the real answer" for m in h.messages()))
    await h.dispatcher.run_once()
    assert [m.body for m in h.messages() if m.kind is not MessageKind.CUSTOMER] == ["the real answer"]
    assert h.fake.called("chat.postEphemeral") == [] and h.fake.called("chat.update")[-1]["ts"] == thread_ts


async def test_a_failing_users_info_neither_crashes_nor_lets_a_stranger_in(h: Harness):
    await h.open()
    h.fake.errors["users.info"] = ["ratelimited", "ratelimited"]
    await h.reply("answer while Slack limits us")
    await h.reply("stranger", user="U0000EVE", ts="1700000500.000009", event_id="Ev2")
    await eventually(lambda: h.fake.called("chat.postEphemeral"))
    await eventually(lambda: h.messages())
    await h.dispatcher.run_once()
    assert [(m.author_id, m.body) for m in h.messages()] == [("U0000BOB", "answer while Slack limits us")]
    assert h.fake.called("chat.postEphemeral")[0]["user"] == "U0000EVE"


async def test_a_staff_reply_reaches_the_customer_as_plain_text_not_slack_markup(h: Harness):
    await h.open()
    slack_text = ("Use a &lt; b &amp;&amp; c &gt; d, see <https://docs.example.com/x?a=1&amp;b=2|the docs> or "
                  "<https://example.com>, ask <@U0000CAT> in <#C0SEO|support-seo>, mail <mailto:a@b.co|a@b.co>, "
                  "<!here> <!subteam^S0LEADS|@leads> <!date^1700000000^{date}|Nov 14>")
    await h.reply(slack_text)
    await eventually(lambda: h.messages())
    await h.dispatcher.run_once()
    (sent,) = [d.message.body for d in h.customer.delivered if d.message]
    assert sent == ("Use a < b && c > d, see the docs (https://docs.example.com/x?a=1&b=2) or https://example.com, "
                    "ask @Cat in #support-seo, mail a@b.co, @here @leads Nov 14")


async def test_an_edited_staff_reply_reaches_the_customer_as_plain_text(h: Harness):
    await h.open()
    await h.reply("first")
    await eventually(lambda: h.messages())
    channel, thread_ts = h.thread()
    inner = {"type": "message", "user": "U0000BOB", "ts": "1700000500.000001", "thread_ts": thread_ts}
    edit = {"type": "message", "subtype": "message_changed", "channel": channel, "ts": "1700000700.000001",
            "message": {**inner, "text": "a &lt;b&gt; <https://x.example|x.example>"},
            "previous_message": {**inner, "text": "first"}}
    await h.event(edit, "Ev2")
    await eventually(lambda: any(m.edited_at for m in h.messages()))
    assert next(m for m in h.messages() if m.edited_at).body == "a <b> x.example (https://x.example)"


async def test_a_rate_limited_notice_is_logged_and_nothing_breaks(h: Harness, caplog):
    n = await h.open()
    h.fake.errors["chat.postEphemeral"] = ["ratelimited"]
    assert (await h.reply("not staff", user="U0000EVE")).status == 200
    await eventually(lambda: "could not answer in Slack" in caplog.text)
    await h.action({"action_id": "view_access", "type": "button", "value": str(n)}, answered=False)
    await eventually(lambda: len(h.fake.called("chat.postEphemeral")) == 2)  # the next one still goes out
    assert h.fake.called("chat.postEphemeral")[1]["text"].startswith("There is no temporary access")


async def test_every_customer_field_of_the_card_is_escaped(h: Harness):
    bad = "<!subteam^S0LEADS> <https://evil.example|click> <!here>"
    n = await h.open(subject=bad[:60], description=bad, steps=bad, changes=bad, errors=bad)
    ticket = replace(h.ticket(n), customer_name=bad, customer_email=bad)
    blocks = card_blocks(ticket, h.desk.policy, h.desk.clock.now())
    mrkdwn = [f["text"] for b in blocks for f in b.get("fields", [])]
    mrkdwn += [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]
    assert len(mrkdwn) == 11 and not any("<" in text or ">" in text for text in mrkdwn)
    assert sum("&lt;https://evil.example|click&gt;" in text for text in mrkdwn) == 5


async def test_the_card_follows_the_ticket_awaiting_customer_then_overdue(h: Harness):
    n = await h.open()
    await h.reply("An answer")
    await eventually(lambda: h.messages())
    await h.dispatcher.run_once()
    assert "Waiting for the customer" in json.dumps(h.fake.called("chat.update")[-1]["blocks"])
    await customer_post(h.desk, CustomerPost(ALICE, "d-1", "still broken", ticket_number=n))
    await h.dispatcher.run_once()
    assert "Waiting for staff" in json.dumps(h.fake.called("chat.update")[-1]["blocks"])
    h.clock.advance(days=3)
    await sweep(h.desk)
    await h.dispatcher.run_once()
    update = h.fake.called("chat.update")[-1]
    assert (update["channel"], update["ts"]) == h.thread(n) and "OVERDUE" in json.dumps(update["blocks"])
    assert any("has not been answered" in p for p in posts(h))
