"""A closed ticket's transcript reaches its Slack thread as a file, through the outbox (files_upload_v2)."""

from __future__ import annotations

import html

from bot.commands import StaffClose
from bot.domain import CloseReason, OutboxStatus
from bot.tickets.actions import staff_close
from tests.core_helpers import BOB
from tests.slack.fake_slack import eventually
from tests.slack.harness import Harness


async def test_close_uploads_the_staff_transcript_into_the_ticket_thread(h: Harness):
    n = await h.open(description="Broken <script>x</script>")
    await h.reply("note: reproduced on 2.4.6", ts="1700000500.000001", event_id="Ev1")
    await h.reply("Please clear the cache.", ts="1700000500.000002", event_id="Ev2")
    await eventually(lambda: len(h.messages()) == 2)
    await h.action({"action_id": "close", "type": "static_select",
                    "selected_option": {"value": f"{n}:resolved", "text": {"type": "plain_text", "text": "Resolved"}}})
    await h.dispatcher.run_once()
    [(content, complete)] = h.fake.uploaded(f"ticket-{n}-transcript.html")
    channel, thread_ts = h.thread(n)
    assert complete["channel_id"] == channel and complete["thread_ts"] == thread_ts
    assert complete["initial_comment"] == f"Transcript of ticket #{n} (with internal notes)."
    page = content.decode()
    assert "Broken &lt;script&gt;x&lt;/script&gt;" in page and "<script>" not in page
    assert "reproduced on 2.4.6" in page and "internal note" in page
    assert "Please clear the cache." in html.unescape(page)
    row = [o for o in h.store.state.outbox.values() if o.action == "transcript" and o.target.value == "staff"][0]
    assert row.status is OutboxStatus.DELIVERED and row.ref == "F0001"


async def test_a_failed_upload_is_retried_by_the_outbox(h: Harness):
    n = await h.open()
    h.fake.errors["files.completeUploadExternal"] = ["http500"]
    await staff_close(h.desk, StaffClose(BOB, n, CloseReason.DUPLICATE))
    await h.dispatcher.run_once()
    row = [o for o in h.store.state.outbox.values() if o.action == "transcript" and o.target.value == "staff"][0]
    assert row.status is OutboxStatus.PENDING and row.attempts == 1 and "HTTP 500" in (row.last_error or "")
    h.clock.advance(minutes=5)
    await h.dispatcher.run_once()
    assert len(h.fake.uploaded(f"ticket-{n}-transcript.html")) == 2  # the refused attempt, then the retry
    row = h.store.state.outbox[row.id]  # type: ignore[index]
    assert row.status is OutboxStatus.DELIVERED


async def test_a_rating_shows_on_the_closed_card(h: Harness):
    import json

    from bot.tickets.satisfaction import rate
    from tests.core_helpers import ALICE

    n = await h.open()
    await staff_close(h.desk, StaffClose(BOB, n, CloseReason.RESOLVED))
    await h.dispatcher.run_once()
    await rate(h.desk, ALICE, n, 4, "Quick & <b>kind</b>")
    await h.dispatcher.run_once()
    update = h.fake.called("chat.update")[-1]
    assert (update["channel"], update["ts"]) == h.thread(n)
    blocks = json.dumps(update["blocks"])
    assert "Satisfaction:* \\u2605\\u2605\\u2605\\u2605\\u2606 4/5" in blocks
    assert "Quick &amp; &lt;b&gt;kind&lt;/b&gt;" in blocks and "Closed: Resolved" in blocks
    assert h.fake.called("chat.postMessage")[-1]["text"] == "Alice rated the support 4/5: Quick &amp; &lt;b&gt;kind&lt;/b&gt;"
