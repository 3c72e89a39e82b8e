"""Issue 12 on the Slack side (the real bolt app against the fake): notes in Slack's formatting,
odd ticket numbers, forged button values, another product's staff, and who is linked on the card."""

from __future__ import annotations

import json

import pytest

from adapters.slack.app import APOLOGY
from bot.commands import Customer
from bot.customers.accounts import link_account
from bot.domain import MessageKind
from tests.core_helpers import link
from tests.slack.fake_slack import eventually
from tests.slack.harness import Harness


def ephemerals(h: Harness, user: str = "U0000BOB") -> list[str]:
    return [c["text"] for c in h.fake.called("chat.postEphemeral") if c["user"] == user]


@pytest.mark.parametrize("typed", ["*note:* the customer is on 2.4.6", "_note:_ x", "&gt; note: x", "Note : x",
                                   "\u200bnote: x", "~note:~ x"])
async def test_a_note_in_slack_formatting_never_reaches_the_customer(h: Harness, typed: str) -> None:
    await h.open()
    await h.reply(typed)
    await eventually(lambda: h.messages())
    [note] = h.messages()
    assert note.kind is MessageKind.NOTE
    await h.dispatcher.run_once()
    assert not [d for d in h.customer.delivered if d.message is not None]


async def test_a_message_that_only_looks_like_a_note_is_kept_and_the_author_told(h: Harness) -> None:
    await h.open()
    await h.reply("note - ask about the cache")
    await eventually(lambda: ephemerals(h))
    assert ephemerals(h)[-1].startswith("Kept as an internal note, NOT sent to the customer")
    assert [m.kind for m in h.messages()] == [MessageKind.NOTE]


@pytest.mark.parametrize("typed, answer", [
    ("99999999999999999999", "There is no ticket #99999999999999999999."),
    ("²", "'²' is not a ticket number: write its digits, e.g. 12 or #12."),
    ("#١٢", "'#١٢' is not a ticket number: write its digits, e.g. 12 or #12."),
    ("3000000000 request-access", "There is no ticket #3000000000."),
    ("0", "There is no ticket #0."),
])
async def test_odd_ticket_numbers_get_a_sentence(h: Harness, typed: str, answer: str) -> None:
    await h.open()
    await h.command(typed)
    assert h.fake.responses[-1]["text"] == answer


@pytest.mark.parametrize("action", [
    {"action_id": "claim", "type": "button", "value": "abc"},
    {"action_id": "claim", "type": "button", "value": "99999999999999999999"},
    {"action_id": "close", "type": "static_select", "selected_option": {"value": "1:nonsense"}},
    {"action_id": "close", "type": "static_select", "selected_option": {"value": "x:resolved"}},
    {"action_id": "request_access", "type": "button"},
])
async def test_a_forged_button_value_gets_a_sentence_and_changes_nothing(h: Harness, action: dict) -> None:
    n = await h.open()
    await h.action(action)
    text = h.fake.responses[-1]["text"]
    assert text != APOLOGY and ("not a ticket number" in text or "no ticket" in text or "Close with one of" in text)
    assert h.ticket(n).is_open and h.ticket(n).assignee is None


async def test_another_products_staff_is_refused_in_the_thread_and_on_the_card(h: Harness) -> None:
    n = await h.open()  # an SEO ticket; Cat is a member of #support-checkout only
    await h.reply("Try this", user="U0000CAT")
    await eventually(lambda: ephemerals(h, "U0000CAT"))
    assert ephemerals(h, "U0000CAT")[-1] == (f"Ticket #{n} is handled by the staff of #support-seo, and you are "
                                             "not a member there: nothing was done.")
    await h.action({"action_id": "claim", "type": "button", "value": str(n)}, user="U0000CAT")
    assert h.fake.responses[-1]["text"].startswith(f"Ticket #{n} is handled by the staff of #support-seo")
    await h.command(str(n), user="U0000CAT")
    assert "alice@example.com" not in h.fake.responses[-1]["text"]
    assert not h.messages() and h.ticket(n).assignee is None


async def test_the_card_lists_every_identity_linked_to_the_account(h: Harness) -> None:
    n = await h.open()
    await link_account(h.desk, link(Customer("discord", "u-mallory", "Mallory <@U0000BOB>")))
    await h.dispatcher.run_once()
    [update] = h.fake.called("chat.update")[-1:]
    blocks = json.dumps(update["blocks"])
    assert "Linked identities (2)" in blocks and "Alice (discord u-alice)" in blocks
    assert "Mallory &lt;@U0000BOB&gt; (discord u-mallory)" in blocks  # a name cannot mention anyone
    assert [d.payload["user_id"] for d in h.customer.delivered if d.action == "dm_user"] == ["u-alice"]
    assert update["ts"] == h.thread(n)[1]  # the ticket's own card was redrawn
