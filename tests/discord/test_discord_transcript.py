"""The customer's copy of the transcript reaches their Discord thread as a file (multipart), before the lock."""

from __future__ import annotations

from bot.commands import StaffClose, StaffPost
from bot.domain import CloseReason, OutboxStatus
from bot.tickets.actions import staff_close
from bot.tickets.conversation import staff_post
from tests.core_helpers import BOB
from tests.discord import payloads as p
from tests.discord.conftest import Rig
from tests.discord.flows import ALICE, eventually, link_core, open_ticket, thread_of


async def test_close_sends_the_customer_transcript_file_then_locks(rig: Rig) -> None:
    await link_core(rig, ALICE, "alice@example.com", "SEO-ALICE")
    await open_ticket(rig, ALICE)
    [number] = rig.store.state.tickets
    await rig.dispatcher.run_once()
    thread = thread_of(rig, number)
    await rig.fake.dispatch("MESSAGE_CREATE", p.message(p.snowflake(), thread, ALICE, "It fails <b>again</b>"))
    await eventually(lambda: len(rig.store.state.messages) == 1)
    await staff_post(rig.desk, StaffPost(BOB, "s1", "note: internal only, do not show", "ts1", ticket_number=number))
    await staff_post(rig.desk, StaffPost(BOB, "s2", "Fixed in 1.3.1.", "ts2", ticket_number=number))
    await staff_close(rig.desk, StaffClose(BOB, number, CloseReason.RESOLVED))
    await rig.dispatcher.run_once()
    posts = rig.fake.posts_in(thread)
    [sent] = [c for c in posts if c.files]
    name = f"ticket-{number}-transcript-customer.html"
    assert list(sent.files) == [name]
    assert sent.body["content"] == f"<@{ALICE['id']}> Here is the transcript of ticket #{number}, for your records."
    assert sent.body["allowed_mentions"] == {"parse": [], "users": [int(ALICE["id"])]}
    page = sent.files[name].decode()
    assert "It fails &lt;b&gt;again&lt;/b&gt;" in page and "Fixed in 1.3.1." in page
    assert "internal only" not in page and "internal note" not in page
    # the file went before the thread was locked (a locked thread takes no posts)
    lock = rig.fake.find("PATCH", f"/channels/{thread}")[-1]
    assert lock.body.get("locked") is True and rig.fake.calls.index(sent) < rig.fake.calls.index(lock)
    row = [o for o in rig.store.state.outbox.values() if o.action == "transcript" and o.target.value == "customer"][0]
    assert row.status is OutboxStatus.DELIVERED
