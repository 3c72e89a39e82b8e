"""The ticket thread: customer messages in, staff answers out, edits, closing, other customers."""

from __future__ import annotations

from bot.commands import Edit, StaffPost
from bot.domain import Attachment, MessageKind
from bot.tickets.conversation import edit_message, staff_post
from tests.core_helpers import BOB
from tests.discord import payloads as p
from tests.discord.conftest import Rig
from tests.discord.flows import ALICE, CAROL, eventually, link_core, open_ticket, thread_of


async def opened(rig: Rig) -> tuple[int, int]:
    await link_core(rig, ALICE, "alice@example.com", "SEO-ALICE")
    await open_ticket(rig, ALICE)
    [number] = rig.store.state.tickets
    await rig.dispatcher.run_once()
    thread = thread_of(rig, number)
    await eventually(lambda: rig.client.get_channel(thread))  # THREAD_CREATE reached the cache
    return number, thread


def customer_bodies(rig: Rig) -> list[str]:
    return [m.body for m in rig.store.state.messages.values() if m.kind is MessageKind.CUSTOMER]


async def test_a_thread_message_reaches_the_core_once_with_its_attachments(rig: Rig) -> None:
    number, thread = await opened(rig)
    upload = {"id": "1", "filename": "trace.log", "size": 12, "url": "https://cdn.example/trace.log",
              "proxy_url": "https://cdn.example/trace.log", "content_type": "text/plain"}
    hello = p.message(p.snowflake(), thread, ALICE, "@everyone it still fails", [upload])
    await rig.fake.dispatch("MESSAGE_CREATE", hello)
    await rig.fake.dispatch("MESSAGE_CREATE", hello)
    await rig.fake.dispatch("MESSAGE_CREATE", p.message(p.snowflake(), thread, ALICE, "marker"))
    await eventually(lambda: "marker" in customer_bodies(rig))
    assert customer_bodies(rig) == ["@everyone it still fails", "marker"]
    [first] = [m for m in rig.store.state.messages.values() if m.body.startswith("@everyone")]
    assert first.customer_ref == hello["id"]
    assert first.attachments == (Attachment("trace.log", "https://cdn.example/trace.log", "text/plain", 12),)


async def test_messages_elsewhere_and_from_bots_are_ignored(rig: Rig) -> None:
    _, thread = await opened(rig)
    await rig.fake.dispatch("MESSAGE_CREATE", p.message(p.snowflake(), p.OTHER_CHANNEL_ID, ALICE, "general"))
    await rig.fake.dispatch("MESSAGE_CREATE", p.message(p.snowflake(), thread, p.BOT, "from the bot"))
    await rig.fake.dispatch("MESSAGE_CREATE", p.message(p.snowflake(), thread, ALICE, "marker"))
    await eventually(lambda: "marker" in customer_bodies(rig))
    assert customer_bodies(rig) == ["marker"]


async def test_edits_pass_on_but_an_unfurl_changes_nothing(rig: Rig) -> None:
    _, thread = await opened(rig)
    msg = p.message(p.snowflake(), thread, ALICE, "see https://example.com")
    await rig.fake.dispatch("MESSAGE_CREATE", msg)
    await eventually(lambda: customer_bodies(rig))
    await rig.fake.dispatch("MESSAGE_UPDATE", {**msg, "embeds": [{"type": "link", "url": "https://example.com"}]})
    await rig.fake.dispatch("MESSAGE_UPDATE", {**msg, "content": "see https://example.org",
                                               "edited_timestamp": "2026-12-03T09:05:00+00:00"})
    await eventually(lambda: customer_bodies(rig) == ["see https://example.org"])
    await rig.fake.dispatch("MESSAGE_DELETE", {"id": msg["id"], "channel_id": str(thread), "guild_id": str(p.GUILD_ID)})
    await eventually(lambda: all(m.deleted for m in rig.store.state.messages.values() if m.customer_ref))
    await rig.dispatcher.run_once()
    assert [a for a in rig.staff.actions() if a in ("edit", "delete")] == ["edit", "delete"]


async def test_a_staff_answer_is_posted_under_the_name_pinging_no_one(rig: Rig) -> None:
    number, thread = await opened(rig)
    rig.fake.files["shot.png"] = b"\x89PNG fake"
    shot = Attachment("shot.png", f"{rig.fake.url}/files/shot.png", "image/png", 10)
    await staff_post(rig.desk, StaffPost(BOB, "ev-1", "@everyone try <@&1> now", "slack-1",
                                         ticket_number=number, attachments=(shot,)))
    await rig.dispatcher.run_once()
    answer = rig.fake.posts_in(thread)[-1]
    assert answer.body["content"] == f"<@{ALICE['id']}> **Bob** (support): @everyone try <@&1> now"
    mentions = answer.body["allowed_mentions"]  # only the customer addressed is pinged
    assert mentions["parse"] == [] and mentions["users"] == [int(ALICE["id"])] and not mentions.get("roles")
    assert answer.files == {"shot.png": b"\x89PNG fake"}  # copied, not linked
    relayed = [m for m in rig.store.state.messages.values() if m.kind is MessageKind.STAFF][0]
    assert relayed.customer_ref == rig.fake.messages[max(rig.fake.messages)]["id"]
    await edit_message(rig.desk, Edit("staff", "ev-2", "slack-1", "corrected"))
    await rig.dispatcher.run_once()
    [edit] = rig.fake.find("PATCH", rf"/channels/{thread}/messages/{relayed.customer_ref}")
    assert edit.body["content"] == f"<@{ALICE['id']}> **Bob** (support): corrected"


async def test_a_long_answer_is_split_and_an_archived_thread_unarchived(rig: Rig) -> None:
    number, thread = await opened(rig)
    await rig.fake.archive_idle(thread)
    await eventually(lambda: rig.client.get_channel(thread) is None)  # archived threads leave the cache
    await staff_post(rig.desk, StaffPost(BOB, "ev-1", "word " * 900, "slack-1", ticket_number=number))
    await rig.dispatcher.run_once()
    [fetch] = rig.fake.find("GET", rf"/channels/{thread}")  # fetched again: no longer in the cache
    [unarchive] = rig.fake.find("PATCH", rf"/channels/{thread}")
    assert unarchive.body["archived"] is False
    posts = rig.fake.posts_in(thread)[1:]
    assert len(posts) == 3 and all(len(c.body["content"]) <= 2000 for c in posts)
    assert rig.store.state.tickets[number].is_open
    # editing it to something short rewrites the first part and removes the two others
    await edit_message(rig.desk, Edit("staff", "ev-2", "slack-1", "short now"))
    await rig.dispatcher.run_once()
    relayed = [m for m in rig.store.state.messages.values() if m.kind is MessageKind.STAFF][0]
    first, *rest = relayed.customer_ref.split(",")
    assert len(rest) == 2
    [edit] = rig.fake.find("PATCH", rf"/channels/{thread}/messages/{first}")
    assert edit.body["content"].endswith("**Bob** (support): short now")
    assert {c.path.rsplit("/", 1)[-1] for c in rig.fake.find("DELETE", rf"/channels/{thread}/messages/\d+")} == set(rest)


async def test_close_from_the_button_locks_the_thread_and_later_messages_get_the_pointer(rig: Rig) -> None:
    number, thread = await opened(rig)
    summary = next(m for m in rig.fake.messages.values() if m["channel_id"] == str(thread))
    await link_core(rig, CAROL, "carol@example.com", "SEO-CAROL")
    carol_press = p.button_press(f"ticket:close:{number}", summary, CAROL, channel_id=thread)
    await rig.fake.interact(carol_press)
    assert await rig.fake.reply_text(carol_press) == f"There is no ticket #{number} of yours."
    assert rig.store.state.tickets[number].is_open
    press = p.button_press(f"ticket:close:{number}", summary, ALICE, channel_id=thread)
    await rig.fake.interact(press)
    assert await rig.fake.reply_text(press) == f"Ticket #{number} is closed."
    await rig.dispatcher.run_once()
    assert rig.fake.posts_in(thread)[-3].body["content"].endswith("is closed. Thank you! For another question, "
                                                                 "open a new ticket.")
    assert rig.fake.posts_in(thread)[-2].files  # then the customer's transcript, then the rating buttons
    assert "How did we do" in rig.fake.posts_in(thread)[-1].body["content"]
    meta = rig.fake.channels[thread]["thread_metadata"]
    assert meta["archived"] and meta["locked"]
    late = p.message(p.snowflake(), thread, ALICE, "one more thing")
    await rig.fake.dispatch("MESSAGE_CREATE", late)
    pointer = await eventually(lambda: [c for c in rig.fake.posts_in(thread) if c.body.get("message_reference")])
    assert pointer[0].body["content"].startswith(f"Ticket #{number} is closed. For a new question")
    assert pointer[0].body["message_reference"]["message_id"] == int(late["id"])


async def test_close_status_and_list_commands_only_for_the_own_tickets(rig: Rig) -> None:
    number, _ = await opened(rig)
    await link_core(rig, CAROL, "carol@example.com", "SEO-CAROL")
    for sub in ("status", "close"):
        command = p.slash("ticket", sub, CAROL, number=number)
        await rig.fake.interact(command)
        assert await rig.fake.reply_text(command) == f"There is no ticket #{number} of yours."
    listing = p.slash("ticket", "list", CAROL)
    await rig.fake.interact(listing)
    assert (await rig.fake.reply_text(listing)).startswith("You have no tickets yet")
    status = p.slash("ticket", "status", ALICE, number=number)
    await rig.fake.interact(status)
    assert (await rig.fake.reply_text(status)).startswith(f"Ticket #{number}: Checkout button does nothing")
    close = p.slash("ticket", "close", ALICE, "fr")
    await rig.fake.interact(close)
    assert await rig.fake.reply_text(close) == f"Le ticket #{number} est fermé."
    assert not rig.store.state.tickets[number].is_open


async def test_a_pasted_secret_is_deleted_in_the_thread_and_the_customer_told(rig: Rig) -> None:
    number, thread = await opened(rig)
    secret = "Zq8!vT3#pLm2"
    pasted = p.message(p.snowflake(), thread, ALICE, f"admin login: alice, password: {secret} thanks")
    await rig.fake.dispatch("MESSAGE_CREATE", pasted)
    await eventually(lambda: customer_bodies(rig))
    await rig.dispatcher.run_once()
    assert rig.fake.find("DELETE", rf"/channels/{thread}/messages/{pasted['id']}")
    assert int(pasted["id"]) not in rig.fake.messages
    told = rig.fake.posts_in(thread)[-1].body
    assert told["content"].startswith(f"<@{ALICE['id']}> Alice, your message contained what looks like a secret")
    assert secret not in told["content"] and "[redacted: password]" in told["content"]
    # Discord reports the bot's own deletion like any other: it must not delete the redacted copy for staff
    await rig.fake.dispatch("MESSAGE_CREATE", p.message(p.snowflake(), thread, ALICE, "marker"))
    await eventually(lambda: "marker" in customer_bodies(rig))
    await rig.dispatcher.run_once()
    [kept] = [m for m in rig.store.state.messages.values() if m.customer_ref == pasted["id"]]
    assert not kept.deleted
    assert "delete" not in rig.staff.actions()


async def test_a_moderators_bulk_deletion_is_passed_on(rig: Rig) -> None:
    _, thread = await opened(rig)
    first, second = (p.message(p.snowflake(), thread, ALICE, text) for text in ("one", "two"))
    for msg in (first, second):
        await rig.fake.dispatch("MESSAGE_CREATE", msg)
    await eventually(lambda: customer_bodies(rig) == ["one", "two"])
    await rig.fake.dispatch("MESSAGE_DELETE_BULK", {"ids": [first["id"], second["id"]], "channel_id": str(thread),
                                                    "guild_id": str(p.GUILD_ID)})
    await eventually(lambda: all(m.deleted for m in rig.store.state.messages.values() if m.customer_ref))
    await rig.dispatcher.run_once()
    assert [a for a in rig.staff.actions() if a == "delete"] == ["delete", "delete"]
