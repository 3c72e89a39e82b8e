"""The bolt app with signed requests: staff replies, duplicates, notes, edits, non-staff, buttons, /tickets."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.request.async_request import AsyncBoltRequest

from bot.domain import MessageKind, TicketStatus
from tests.slack.fake_slack import BOT_ID, BOT_TOKEN, eventually
from tests.slack.harness import Harness, event_body, make_harness


def relayed(h: Harness) -> list[str]:
    return [d.message.body for d in h.customer.delivered if d.action == "post" and d.message]


async def test_a_thread_reply_reaches_the_customer_once_though_slack_sends_it_three_times(h: Harness):
    n = await h.open()
    statuses = [(await h.reply("Try clearing the cache.", retry=r if r else None)).status for r in range(3)]
    assert statuses == [200, 200, 200]  # a duplicate is acknowledged, never 404
    await eventually(lambda: any(m.body == "Try clearing the cache." for m in h.messages()))
    await h.dispatcher.run_once()
    assert relayed(h) == ["Try clearing the cache."]
    answer = next(m for m in h.messages() if m.kind is MessageKind.STAFF)
    assert (answer.author_id, answer.author_name, answer.staff_ref) == ("U0000BOB", "Bob", "C0SEO:1700000500.000001")
    (reaction,) = h.fake.called("reactions.add")
    assert (reaction["name"], reaction["timestamp"]) == ("white_check_mark", "1700000500.000001")
    assert h.ticket(n).status is TicketStatus.AWAITING_CUSTOMER


async def test_a_note_stays_in_slack(h: Harness):
    await h.open()
    assert (await h.reply("note: customer is on 2.4.4 really")).status == 200
    await eventually(lambda: any(m.kind is MessageKind.NOTE for m in h.messages()))
    await h.dispatcher.run_once()
    assert relayed(h) == [] and h.fake.called("chat.postEphemeral") == []


async def test_a_non_staff_reply_is_refused_and_not_relayed(h: Harness):
    await h.open()
    await h.reply("I am not staff", user="U0000EVE")
    await eventually(lambda: h.fake.called("chat.postEphemeral"))
    (notice,) = h.fake.called("chat.postEphemeral")
    assert notice["user"] == "U0000EVE" and notice["text"].startswith("Only support staff can answer tickets")
    await h.dispatcher.run_once()
    assert relayed(h) == [] and not any(m.body == "I am not staff" for m in h.messages())


async def test_bot_messages_and_other_subtypes_are_ignored(h: Harness):
    await h.open()
    await h.reply("from another app", bot_id="B0OTHER", bot_profile={"name": "CI"})
    await h.reply("our own echo", user="U0000BOT", bot_id=BOT_ID, event_id="Ev2")
    await h.reply("joined", subtype="channel_join", event_id="Ev3")
    await h.reply("broadcast answer", subtype="thread_broadcast", event_id="Ev4", ts="1700000600.000001")
    await eventually(lambda: any(m.body == "broadcast answer" for m in h.messages()))
    await h.dispatcher.run_once()
    assert relayed(h) == ["broadcast answer"]


async def test_edits_are_relayed_but_unchanged_text_is_not(h: Harness):
    await h.open()
    await h.reply("Version 1")
    await eventually(lambda: h.messages())
    channel, thread_ts = h.thread()
    base = {"type": "message", "subtype": "message_changed", "channel": channel, "ts": "1700000700.000001"}
    inner = {"type": "message", "user": "U0000BOB", "ts": "1700000500.000001", "thread_ts": thread_ts}
    unfurl = {**base, "message": {**inner, "text": "Version 1", "attachments": [{"title": "x"}]},
              "previous_message": {**inner, "text": "Version 1"}}
    edit = {**base, "message": {**inner, "text": "Version 2"}, "previous_message": {**inner, "text": "Version 1"}}
    assert (await h.event(unfurl, "Ev2")).status == 200
    assert (await h.event(edit, "Ev3")).status == 200
    await eventually(lambda: any(m.body == "Version 2" for m in h.messages()))
    await h.dispatcher.run_once()
    edits = [d.message.body for d in h.customer.delivered if d.action == "edit" and d.message]
    assert edits == ["Version 2"]
    deleted = {"type": "message", "subtype": "message_deleted", "channel": channel, "ts": "1700000800.000001",
               "deleted_ts": "1700000500.000001", "previous_message": {**inner, "text": "Version 2"}}
    await h.event(deleted, "Ev4")
    await eventually(lambda: any(m.deleted for m in h.messages()))
    await h.dispatcher.run_once()
    assert h.customer.actions()[-1] == "delete"


async def test_staff_files_reach_the_customer_and_download_with_the_token(h: Harness):
    await h.open()
    h.fake.files["private-log.txt"] = (b"stack trace", "text/plain")
    url = f"{h.fake.base}/files/private-log.txt"
    files = [{"id": "F1", "name": "log.txt", "mimetype": "text/plain", "size": 11, "url_private_download": url}]
    await h.reply("see the log", subtype="file_share", files=files)
    await eventually(lambda: h.messages())
    await h.dispatcher.run_once()
    (sent,) = [d.message for d in h.customer.delivered if d.message]
    assert [(a.filename, a.url) for a in sent.attachments] == [("log.txt", url)]
    assert await h.slack.download_file(url) == b"stack trace"
    assert h.fake.file_auth == [f"Bearer {BOT_TOKEN}"]


async def test_a_bad_signature_gets_401_and_runs_nothing(h: Harness):
    await h.open()
    channel, thread_ts = h.thread()
    event = {"type": "message", "user": "U0000EVE", "text": "x", "ts": "1700000900.000001", "thread_ts": thread_ts,
             "channel": channel}
    body = event_body(event, "Ev9")
    assert (await h.dispatch(body, "application/json", secret="wrong-secret")).status == 401
    stale: dict[str, Any] = {"content-type": "application/json", "x-slack-request-timestamp": "1600000000", "x-slack-signature": "v0=0"}
    assert (await h.app.async_dispatch(AsyncBoltRequest(body=body, headers=stale))).status == 401
    assert (await h.dispatch(body, "application/json")).status == 200  # the same body, rightly signed
    await eventually(lambda: h.fake.called("chat.postEphemeral"))
    assert len(h.fake.called("chat.postEphemeral")) == 1  # only the signed request reached a listener


async def test_claim_and_close_update_the_card(h: Harness):
    n = await h.open()
    assert (await h.action({"action_id": "claim", "type": "button", "value": str(n)})).status == 200
    assert h.fake.responses[-1]["text"] == f"You claimed ticket #{n}."
    assert h.fake.responses[-1]["response_type"] == "ephemeral"
    await h.dispatcher.run_once()
    update = h.fake.called("chat.update")[-1]
    assert (update["channel"], update["ts"]) == h.thread(n) and "<@U0000BOB>" in json.dumps(update["blocks"])
    close = {"action_id": "close", "type": "static_select",
             "selected_option": {"value": f"{n}:duplicate", "text": {"type": "plain_text", "text": "Duplicate"}}}
    await h.action(close)
    assert h.fake.responses[-1]["text"] == f"Ticket #{n} closed (duplicate)."
    await h.dispatcher.run_once()
    blocks = h.fake.called("chat.update")[-1]["blocks"]
    assert "Closed: Duplicate" in json.dumps(blocks) and not [b for b in blocks if b["type"] == "actions"]
    # the closing text, the customer's transcript and the rating buttons, before the lock
    assert h.customer.actions()[-4:] == ["post", "transcript", "post", "lock"]
    assert h.fake.called("chat.postMessage")[-1]["text"] == "Bob closed the ticket (duplicate)."
    await h.action({"action_id": "claim", "type": "button", "value": str(n)})  # a refusal, shown politely
    assert h.fake.responses[-1]["text"] == f"Ticket #{n} is closed: nothing was sent to the customer."


async def test_buttons_and_tickets_command_refuse_non_staff(h: Harness):
    n = await h.open()
    await h.action({"action_id": "claim", "type": "button", "value": str(n)}, user="U0000EVE")
    assert h.fake.responses[-1]["text"] == "Only support staff can do this."
    assert (await h.command("", user="U0000EVE")).status == 200
    assert h.fake.responses[-1] == {"text": "Only support staff can do this.", "response_type": "ephemeral"}
    await h.dispatcher.run_once()
    assert h.ticket(n).assignee is None and h.fake.called("chat.update") == []


async def test_tickets_command_for_staff(h: Harness):
    n = await h.open(subject="Sitemap <!here> broken")
    await h.command("")
    text = h.fake.responses[-1]["text"]
    assert text.startswith("Open tickets by deadline:") and f"#{n} [seo-suite] Sitemap &lt;!here&gt; broken" in text
    await h.command("mine")
    assert h.fake.responses[-1]["text"] == "No open tickets."
    await h.command(str(n))
    assert "alice@example.com" in h.fake.responses[-1]["text"]
    await h.command("stats")
    assert h.fake.responses[-1]["text"].startswith("Last 30 days: 1 opened, 0 closed.")
    await h.command("999")
    assert h.fake.responses[-1]["text"] == "There is no ticket #999."
    await h.command(f"{n} request-access")
    assert h.fake.responses[-1]["text"] == f"Asked the customer of ticket #{n} for temporary access."
    await h.command("bogus words")
    assert h.fake.responses[-1]["text"].startswith("Usage: /tickets")


async def test_staff_can_come_from_a_user_group(fake):
    h = await make_harness(fake, usergroup="S0000STAFF")  # Eve is in the group, Bob is not
    try:
        await h.open()
        await h.command("", user="U0000EVE")  # staff, but of no product's channel (staff_scope "product")
        assert h.fake.responses[-1]["text"] == "No open tickets."
        fake.members["C0SEO"].append("U0000EVE")
        h.slack.staff._members = None  # membership is re-read (after the cache's ttl in real life)
        await h.command("", user="U0000EVE")
        assert h.fake.responses[-1]["text"].startswith("Open tickets")
        await h.command("", user="U0000BOB")
        assert h.fake.responses[-1]["text"] == "Only support staff can do this."
    finally:
        await h.slack.close()


async def test_tickets_mine_lists_what_i_claimed_with_names(h: Harness):
    n = await h.open()
    await h.open(subject="Checkout is slow", product="seo-suite")
    await h.action({"action_id": "claim", "type": "button", "value": str(n)}, number=n)
    await h.command("mine")
    lines = h.fake.responses[-1]["text"].splitlines()
    assert len(lines) == 2 and lines[1].startswith(f"#{n} ") and "| <@U0000BOB> |" in lines[1]
    await h.command("mine", user="U0000CAT")  # Cat is staff of the checkout channel, claimed nothing
    assert h.fake.responses[-1]["text"] == "No open tickets."


async def test_an_unexpected_error_is_logged_and_answered_with_an_apology(h: Harness, monkeypatch, caplog):
    async def broken(desk, days=30):  # type: ignore[no-untyped-def]
        raise RuntimeError("database on fire")

    monkeypatch.setattr("adapters.slack.app.staff_stats", broken)
    await h.command("stats")
    text = h.fake.responses[-1]["text"]
    assert text.startswith("Sorry, something went wrong") and "fire" not in text and "Traceback" not in text
    assert "database on fire" in caplog.text
