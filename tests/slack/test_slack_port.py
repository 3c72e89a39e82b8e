"""The staff delivery port against FakeSlack: card, thread posts, files, edits, reactions, errors."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from adapters.slack.card import card_blocks
from adapters.slack.pacing import ChannelPacer
from adapters.slack.port import SlackStaffPort
from bot.commands import CustomerPost, Edit
from bot.domain import Attachment, CloseReason, OutboxStatus, TicketStatus
from bot.ports import Delivery, RetryLater, Undeliverable
from bot.texts import Text
from bot.tickets.conversation import customer_post, edit_message
from bot.tickets.opening import open_ticket
from tests.core_helpers import ALICE, form
from tests.slack.fake_slack import BOT_TOKEN
from tests.slack.harness import Harness


def action_ids(blocks: list[dict]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


async def test_card_is_posted_in_the_resolved_channel_with_every_field(h: Harness):
    n = await h.open(errors="Exception: <b>boom</b>")
    (card,) = h.fake.called("chat.postMessage")
    assert card["channel"] == "C0SEO"  # "support-seo" in the policy, resolved by conversations.list
    assert h.ticket(n).staff_thread_ref == "C0SEO:1700000000.000001"
    text = json.dumps(card["blocks"])
    ticket = h.ticket(n)
    assert ticket.sla_due_at is not None
    for expected in (f"#{n} Sitemap is empty", "Alice", "alice@example.com", "SEO Suite", "2027-05-31",
                     "Magento 2.4.6", "module 1.3.0", "The XML sitemap has no products.",
                     "Generate the sitemap in admin.", "Upgraded to 1.3.0 yesterday.",
                     h.desk.policy.calendar.format_local(ticket.sla_due_at), "Waiting for staff", "unassigned",
                     "Exception: &lt;b&gt;boom&lt;/b&gt;"):
        assert expected in text, expected
    assert action_ids(card["blocks"]) == ["claim", "close", "request_access", "view_access"]
    close = next(e for b in card["blocks"] if b["type"] == "actions" for e in b["elements"] if e["action_id"] == "close")
    assert [o["value"] for o in close["options"]] == [
        f"{n}:resolved", f"{n}:customisation", f"{n}:magento-native", f"{n}:licence-expired", f"{n}:duplicate"]
    assert all(p["_auth"] == f"Bearer {BOT_TOKEN}" for p in h.fake.called("chat.postMessage"))


async def test_card_limits_long_fields_and_shows_overdue_and_closed_states(h: Harness):
    n = await h.open()
    ticket = replace(h.ticket(n), description="<" * 4000, subject="s" * 300)  # longer than the form allows
    blocks = card_blocks(ticket, h.desk.policy, h.desk.clock.now())
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section" and "text" in b)
    assert "OVERDUE" not in json.dumps(blocks)
    assert ticket.sla_due_at is not None
    late = card_blocks(ticket, h.desk.policy, ticket.sla_due_at.replace(microsecond=1))
    assert "OVERDUE" in json.dumps(late)
    closed = replace(ticket, status=TicketStatus.CLOSED, close_reason=CloseReason.MAGENTO_NATIVE)
    blocks = card_blocks(closed, h.desk.policy, h.desk.clock.now())
    assert action_ids(blocks) == [] and "Closed: Magento-native feature" in json.dumps(blocks)


async def test_customer_text_is_escaped_and_attributed_in_the_thread(h: Harness):
    n = await h.open()
    await customer_post(h.desk, CustomerPost(ALICE, "d-1", "<!channel> <@U0000BOB> help & fast", ticket_number=n))
    await h.dispatcher.run_once()
    post = h.fake.called("chat.postMessage")[-1]
    assert post["thread_ts"] == h.thread(n)[1]
    assert post["text"] == "*Alice* (customer): &lt;!channel&gt; &lt;@U0000BOB&gt; help &amp; fast"
    message = [m for m in h.messages() if m.body.startswith("<!channel>")][0]
    assert message.staff_ref == f"C0SEO:{_last_ts(h)}"


def _last_ts(h: Harness) -> str:
    return f"1700000000.{h.fake._ts:06d}"


async def test_customer_attachments_are_copied_into_the_thread(h: Harness):
    n = await h.open()
    h.fake.files["shot.png"] = (b"\x89PNG-bytes", "image/png")
    files = (Attachment("shot.png", f"{h.fake.base}/files/shot.png", "image/png", 10),
             Attachment("gone.log", f"{h.fake.base}/files/gone.log", "text/plain", 5))
    await customer_post(h.desk, CustomerPost(ALICE, "d-1", "see file", ticket_number=n, attachments=files))
    await h.dispatcher.run_once()
    assert h.fake.file_auth == [None, None]  # customer-side URLs get no Slack token
    assert list(h.fake.uploads.values()) == [b"\x89PNG-bytes"]
    (complete,) = h.fake.called("files.completeUploadExternal")
    assert complete["channel_id"] == "C0SEO" and complete["thread_ts"] == h.thread(n)[1]
    assert "gone.log" in h.fake.called("chat.postMessage")[-1]["text"]  # a lost file is said, not hidden


async def test_rate_limit_is_retried_through_the_outbox_once_and_in_order(h: Harness):
    n = await h.open()
    h.fake.rate_limit = ["7"]
    for i in range(3):
        await customer_post(h.desk, CustomerPost(ALICE, f"d-{i}", f"part {i}", ticket_number=n))
    await h.dispatcher.run_once()
    posts = lambda: [p["text"] for p in h.fake.called("chat.postMessage")][1:]  # noqa: E731
    assert posts() == ["*Alice* (customer): part 0"]  # the one attempt that got the 429
    row = next(o for o in h.store.state.outbox.values() if o.status is OutboxStatus.PENDING)
    assert row.next_attempt_at is not None and (row.next_attempt_at - h.desk.clock.now()).total_seconds() == 7
    h.clock.advance(seconds=6)
    await h.dispatcher.run_once()
    assert len(posts()) == 1
    h.clock.advance(seconds=1)
    await h.dispatcher.run_once()
    assert posts() == ["*Alice* (customer): part 0"] + [f"*Alice* (customer): part {i}" for i in range(3)]
    assert all(o.status is OutboxStatus.DELIVERED for o in h.store.state.outbox.values())


@pytest.mark.parametrize("error, kind, words", [
    ("channel_not_found", Undeliverable, "does not exist"),
    ("not_in_channel", Undeliverable, "invite"),
    ("is_archived", Undeliverable, "archived"),
    ("invalid_auth", Undeliverable, "SLACK_BOT_TOKEN"),
    ("http500", RetryLater, "HTTP 500"),
])
async def test_slack_errors_become_retry_or_undeliverable_without_the_token(h: Harness, error, kind, words):
    n = await h.open()
    h.fake.errors["chat.postMessage"] = [error]
    delivery = Delivery(99, "post", {"text": Text("customer_closed_note", {"name": "Alice"}).as_dict()},
                        h.ticket(n), None)
    with pytest.raises(kind) as caught:
        await h.slack.port.deliver(delivery)
    assert words in str(caught.value) and BOT_TOKEN not in str(caught.value)


async def test_unknown_channel_name_parks_the_card(h: Harness):
    h.desk.policy.products["seo-suite"] = replace(h.desk.policy.products["seo-suite"], staff_channel="nowhere")
    n = await h.open()
    card = next(o for o in h.store.state.outbox.values() if o.action == "card")
    assert card.status is OutboxStatus.DEAD and "#nowhere" in (card.last_error or "")
    assert h.ticket(n).staff_thread_ref is None


async def test_system_post_renders_text_and_mention(h: Harness):
    n = await h.open()
    text = Text("customer_closed_note", {"name": "Alice"}).as_dict()
    for target, markup in (("S0000LEADS", "<!subteam^S0000LEADS>"), ("U0000BOB", "<@U0000BOB>")):
        await h.slack.port.deliver(Delivery(50, "post", {"text": text, "mention": target}, h.ticket(n), None))
        assert h.fake.called("chat.postMessage")[-1]["text"] == f"{markup} Alice closed the ticket."


async def test_customer_edit_and_delete_reach_the_thread(h: Harness):
    n = await h.open()
    await customer_post(h.desk, CustomerPost(ALICE, "d-1", "first", ticket_number=n))
    await h.dispatcher.run_once()
    ref = next(m for m in h.messages() if m.body == "first").staff_ref
    assert ref is not None
    channel, ts = ref.split(":")
    await edit_message(h.desk, Edit("customer", "d-2", "d-1", "second <b>"))
    await h.dispatcher.run_once()
    update = h.fake.called("chat.update")[-1]
    assert (update["channel"], update["ts"], update["text"]) == (channel, ts, "*Alice* (customer): second &lt;b&gt;")
    await edit_message(h.desk, Edit("customer", "d-3", "d-1", None))
    h.fake.errors["chat.delete"] = ["message_not_found"]  # already gone counts as done
    await h.dispatcher.run_once()
    assert h.fake.called("chat.delete")[-1]["ts"] == ts
    assert all(o.status is OutboxStatus.DELIVERED for o in h.store.state.outbox.values())


async def test_timer_mentions_channel_and_leads(h: Harness):
    n = await h.open()
    text = Text("customer_closed_note", {"name": "Alice"}).as_dict()
    for target, markup in (("channel:support-seo", "<!here>"), ("U0000BOB S0000LEADS", "<@U0000BOB> <!subteam^S0000LEADS>")):
        await h.slack.port.deliver(Delivery(51, "post", {"text": text, "mention": target}, h.ticket(n), None))
        assert h.fake.called("chat.postMessage")[-1]["text"] == f"{markup} Alice closed the ticket."


async def test_card_shows_a_recorded_breach_as_overdue(h: Harness):
    n = await h.open()
    ticket = h.ticket(n)
    assert ticket.sla_due_at is not None
    breached = replace(ticket, sla_due_at=None, overdue_since=ticket.sla_due_at)
    text = json.dumps(card_blocks(breached, h.desk.policy, h.desk.clock.now()))
    assert "OVERDUE" in text and h.desk.policy.calendar.format_local(ticket.sla_due_at) in text


async def test_a_post_interrupted_after_slack_took_it_is_not_posted_again(h: Harness):
    """A process died between Slack's answer and the commit: the row comes back marked interrupted,
    and a new process (no memory of it) finds the posted parts by their metadata."""
    n = await h.open()
    await customer_post(h.desk, CustomerPost(ALICE, "m1", "x" * 50_000, thread_ref=None, ticket_number=n))
    [row] = [i for i in h.store.state.outbox.values() if i.status is OutboxStatus.PENDING and i.action == "post"]
    delivery = Delivery(row.id, row.action, row.payload, h.ticket(n), h.messages()[-1], row)  # type: ignore[arg-type]
    first_ref = await h.slack.port.deliver(delivery)  # two parts posted; then the process dies
    posted = len(h.fake.called("chat.postMessage"))
    assert [m.get("metadata", {}).get("event_payload") for m in h.fake.called("chat.postMessage")[-2:]] == [
        {"row": row.id, "part": 0}, {"row": row.id, "part": 1}]

    fresh = SlackStaffPort(h.slack.client, h.desk, pacer=ChannelPacer.unpaced())  # the restarted process
    assert await fresh.deliver(replace(delivery, interrupted=True)) == first_ref
    assert len(h.fake.called("chat.postMessage")) == posted  # nothing posted twice
    assert h.fake.called("conversations.replies")[-1]["include_all_metadata"] in ("1", "true", True)

    # without the mark (a first attempt) nothing is read: no history call on the hot path
    reads = len(h.fake.called("conversations.replies"))
    await fresh.deliver(replace(delivery, item_id=row.id + 1000))
    assert len(h.fake.called("conversations.replies")) == reads


async def test_a_card_interrupted_after_slack_took_it_is_not_posted_again(h: Harness):
    """The card names its row in its metadata too, so a restarted process does not post a second card."""
    ticket = await open_ticket(h.desk, form(ALICE))
    [row] = [i for i in h.store.state.outbox.values() if i.status is OutboxStatus.PENDING and i.action == "card"]
    delivery = Delivery(row.id, row.action, row.payload, h.ticket(ticket.number), None, row)  # type: ignore[arg-type]
    first_ref = await h.slack.port.deliver(delivery)  # the card is posted; then the process dies

    fresh = SlackStaffPort(h.slack.client, h.desk, pacer=ChannelPacer.unpaced())  # the restarted process
    assert await fresh.deliver(replace(delivery, interrupted=True)) == first_ref
    assert len(h.fake.called("chat.postMessage")) == 1
