"""A staff reply in a card's thread that comes before the desk recorded the card (Slack answers
the post before the dispatcher commits its ts, and a crash can fall in between) is relayed, not
taken for staff talking among themselves. Real bolt app, local fake Slack."""

from __future__ import annotations

from bot.domain import MessageKind
from tests.slack.fake_slack import eventually
from tests.slack.harness import Harness


def relayed(h: Harness) -> list[str]:
    return [d.message.body for d in h.customer.delivered if d.action == "post" and d.message]


async def reply_in(h: Harness, channel: str, thread_ts: str, text: str, event_id: str, ts: str) -> None:
    event = {"type": "message", "user": "U0000BOB", "text": text, "ts": ts, "thread_ts": thread_ts,
             "channel": channel, "channel_type": "channel"}
    assert (await h.event(event, event_id)).status == 200


async def test_a_reply_to_a_card_whose_post_is_not_recorded_yet_is_relayed(h: Harness):
    n = await h.open()
    channel, card_ts = h.thread(n)
    (card,) = h.fake.called("chat.postMessage")
    assert card["metadata"]["event_payload"]["row"]  # the card names its outbox row
    h.ticket(n).staff_thread_ref = None  # as between Slack's answer and the dispatcher's commit

    await reply_in(h, channel, card_ts, "Which theme do you use?", "EvEarly", "1700000500.000001")
    await eventually(lambda: any(m.body == "Which theme do you use?" for m in h.messages()))
    await h.dispatcher.run_once()
    assert relayed(h) == ["Which theme do you use?"]
    assert h.ticket(n).staff_thread_ref == f"{channel}:{card_ts}"


async def test_a_thread_under_another_message_stays_staff_chatter_and_is_read_once(h: Harness):
    await h.open()
    h.fake.history.setdefault("C0SEO", []).append({"type": "message", "ts": "1699999999.000001", "user": "U0000BOB",
                                                   "text": "lunch?"})
    for i in range(2):
        await reply_in(h, "C0SEO", "1699999999.000001", f"staff chat {i}", f"EvChat{i}", f"1700000600.00000{i}")
    await h.dispatcher.run_once()
    assert relayed(h) == [] and not any(m.kind is MessageKind.STAFF for m in h.messages())
    assert len(h.fake.called("conversations.replies")) == 1  # remembered as not a card


async def test_another_apps_message_with_our_metadata_does_not_make_a_thread_a_ticket(h: Harness):
    n = await h.open()
    (card,) = h.fake.called("chat.postMessage")
    h.ticket(n).staff_thread_ref = None
    forged = "1700000300.000001"
    h.fake.history.setdefault("C0SEO", []).append(
        {"type": "message", "ts": forged, "text": "looks like a card", "user": "U0OTHERAPP", "bot_id": "B0OTHER",
         "metadata": card["metadata"]})
    await reply_in(h, "C0SEO", forged, "an answer in the wrong thread", "EvForged", "1700000700.000001")
    await h.dispatcher.run_once()
    assert relayed(h) == [] and h.ticket(n).staff_thread_ref is None
