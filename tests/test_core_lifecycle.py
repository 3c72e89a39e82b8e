"""The ticket lifecycle through the core's use cases: messages, notes, claim, close, ownership."""

from __future__ import annotations

import pytest

from bot.commands import Claim, Customer, CustomerClose, CustomerPost, Edit, StaffClose, StaffPost
from bot.customers.accounts import link_account
from bot.domain import CloseReason, MessageKind, TicketStatus
from bot.errors import Refusal
from bot.texts import render
from bot.tickets.actions import claim, customer_close, staff_close
from bot.tickets.conversation import customer_post, edit_message, staff_post
from bot.tickets.opening import open_ticket
from bot.tickets.queries import customer_list, customer_status, staff_open_tickets, staff_stats, staff_ticket
from tests.core_helpers import ALICE, BOB, form, link, make_desk

CAROL = Customer("discord", "u-carol", "Carol")


async def opened_desk(**policy):  # type: ignore[no-untyped-def]
    desk = make_desk(**policy)
    await link_account(desk, link())
    number = (await open_ticket(desk, form())).number
    return desk, number


def outbox(desk):  # type: ignore[no-untyped-def]
    return [(o.target.value, o.action) for o in desk.uow.state.outbox.values()]


def ticket(desk, number):  # type: ignore[no-untyped-def]
    return desk.uow.state.tickets[number]


async def test_answer_and_reply_move_the_ticket_between_waiting_states():
    desk, n = await opened_desk()
    await staff_post(desk, StaffPost(BOB, "ev1", "Please clear the cache.", "ts1", ticket_number=n))
    t = ticket(desk, n)
    assert t.status is TicketStatus.AWAITING_CUSTOMER and t.sla_due_at is None
    assert t.autoclose_at is not None and t.first_response_at == desk.clock.now()
    desk.clock.advance(hours=1)
    await customer_post(desk, CustomerPost(ALICE, "m1", "Still empty."))
    t = ticket(desk, n)
    assert t.status is TicketStatus.AWAITING_STAFF and t.autoclose_at is None and t.sla_due_at is not None
    assert t.period == 3
    assert outbox(desk)[-4:] == [("customer", "post"), ("staff", "card_update"), ("staff", "post"),
                                 ("staff", "card_update")]  # the customer's message before the redrawn card


async def test_the_card_is_updated_when_an_answer_changes_it_only():
    """Issue 13: a second answer in a row leaves the card as it was, so no card_update call."""
    desk, n = await opened_desk()
    await staff_post(desk, StaffPost(BOB, "ev1", "Please clear the cache.", "ts1", ticket_number=n))
    assert outbox(desk)[-2:] == [("customer", "post"), ("staff", "card_update")]  # awaiting staff -> customer
    desk.clock.advance(minutes=5)
    await staff_post(desk, StaffPost(BOB, "ev2", "And reindex, please.", "ts2", ticket_number=n))
    assert outbox(desk)[-2:] == [("staff", "card_update"), ("customer", "post")]
    assert ticket(desk, n).waiting_since == desk.clock.now()  # the waiting clocks did restart


async def test_a_note_is_stored_but_never_relayed():
    desk, n = await opened_desk()
    before = outbox(desk)
    await staff_post(desk, StaffPost(BOB, "ev1", "note: customer is on PHP 7.4", "ts1", ticket_number=n))
    assert outbox(desk) == before
    note = list(desk.uow.state.messages.values())[-1]
    assert note.kind is MessageKind.NOTE and note.body == "customer is on PHP 7.4"
    assert ticket(desk, n).status is TicketStatus.AWAITING_STAFF


async def test_duplicate_events_change_nothing():
    desk, n = await opened_desk()
    for _ in range(3):
        await staff_post(desk, StaffPost(BOB, "ev-same", "Answer", "ts1", ticket_number=n))
        await customer_post(desk, CustomerPost(ALICE, "m-same", "Thanks"))
    assert len(desk.uow.state.messages) == 2
    assert outbox(desk).count(("customer", "post")) == 1


async def test_closed_is_final_and_points_to_a_new_ticket():
    desk, n = await opened_desk()
    text = render(await customer_close(desk, CustomerClose(ALICE)))
    assert f"#{n}" in text
    assert ticket(desk, n).status is TicketStatus.CLOSED
    assert outbox(desk)[-7:] == [("customer", "post"), ("customer", "transcript"), ("customer", "post"),
                                 ("customer", "lock"),
                                 ("staff", "card_update"), ("staff", "transcript"), ("staff", "post")]
    reply = await customer_post(desk, CustomerPost(ALICE, "m9", "one more thing", ticket_number=n))
    assert reply is not None and "/ticket open" in render(reply)
    assert not [m for m in desk.uow.state.messages.values() if m.body == "one more thing"]
    with pytest.raises(Refusal):
        await claim(desk, Claim(BOB, n))


async def test_staff_close_with_reason_sends_the_matching_template():
    desk, n = await opened_desk()
    await staff_close(desk, StaffClose(BOB, n, CloseReason.CUSTOMISATION))
    t = ticket(desk, n)
    assert t.close_reason is CloseReason.CUSTOMISATION and t.closed_by == "staff:s-bob"
    posts = [o for o in desk.uow.state.outbox.values() if o.action == "post" and o.target.value == "customer"]
    assert posts[-2].payload["text"]["key"] == "closed_customisation"  # then the rating request


async def test_claim_sets_the_assignee_and_updates_the_card():
    desk, n = await opened_desk()
    await claim(desk, Claim(BOB, n))
    assert ticket(desk, n).assignee == "s-bob" and outbox(desk)[-1] == ("staff", "card_update")
    assert "s-bob" in await staff_open_tickets(desk, BOB, assignee="s-bob")
    assert await staff_open_tickets(desk, BOB, assignee="s-eve") == "No open tickets."


async def test_a_customer_sees_and_closes_only_their_own_tickets():
    desk, n = await opened_desk()
    await link_account(desk, link(CAROL, "carol@example.com", "SEO-CAROL"))
    with pytest.raises(Refusal):
        await customer_status(desk, CAROL, n)
    with pytest.raises(Refusal):
        await customer_close(desk, CustomerClose(CAROL, n))
    assert "no tickets" in render(await customer_list(desk, CAROL))
    reply = await customer_post(desk, CustomerPost(CAROL, "c1", "hello", ticket_number=n))
    assert reply is not None and "no ticket" in render(reply)
    assert ticket(desk, n).status is TicketStatus.AWAITING_STAFF
    assert f"#{n}" in render(await customer_status(desk, ALICE, n))


async def test_edits_pass_to_the_other_side_and_unfurls_are_ignored():
    desk, n = await opened_desk()
    await customer_post(desk, CustomerPost(ALICE, "m1", "Error: foo"))
    await edit_message(desk, Edit("customer", "e1", "m1", "Error: foo"))  # same text: an unfurl
    assert outbox(desk)[-1] == ("staff", "post")
    await edit_message(desk, Edit("customer", "e2", "m1", "Error: bar"))
    assert outbox(desk)[-1] == ("staff", "edit")
    await edit_message(desk, Edit("customer", "e3", "m1", None))
    assert outbox(desk)[-1] == ("staff", "delete")


async def test_staff_views_and_stats():
    desk, n = await opened_desk()
    desk.clock.advance(hours=1)
    await staff_post(desk, StaffPost(BOB, "ev1", "Answer", "ts1", ticket_number=n))
    assert "Answer" in await staff_ticket(desk, BOB, n)
    stats = await staff_stats(desk, BOB)
    assert "1 opened" in stats and "average first answer 1h" in stats and "100%" in stats


async def test_answer_email_and_dm_when_configured():
    desk, n = await opened_desk(dm_on_answer=True)
    desk = desk.__class__(desk.uow, desk.clock, desk.policy, desk.licences, mail_enabled=True)
    await staff_post(desk, StaffPost(BOB, "ev1", "Answer", "ts1", ticket_number=n))
    assert ("customer", "dm") in outbox(desk) and ("email", "send") in outbox(desk)
    mail = [o for o in desk.uow.state.outbox.values() if o.action == "send"][0]
    assert mail.payload["to"] == "alice@example.com"


async def test_a_pasted_password_is_redacted_before_it_is_stored_or_relayed():
    desk, n = await opened_desk()
    secret = "Zq8!vT3#pLm2"
    await customer_post(desk, CustomerPost(ALICE, "m-secret", f"admin login: alice, password: {secret} thanks"))
    state = desk.uow.state
    assert secret not in repr(state.messages) and secret not in repr(state.outbox) and secret not in repr(state.audit)
    stored = list(state.messages.values())[-1]
    assert "[redacted: password]" in stored.body and "thanks" in stored.body
    actions = [(o.target.value, o.action) for o in state.outbox.values()][-4:]
    assert actions == [("customer", "delete"), ("customer", "post"), ("staff", "post"), ("staff", "post")]


async def test_a_secret_added_by_editing_is_redacted_and_the_original_removed():
    desk, n = await opened_desk()
    await customer_post(desk, CustomerPost(ALICE, "m1", "Here is the admin login"))
    await edit_message(desk, Edit("customer", "e1", "m1", "Here is the admin login, password: Zq8!vT3#pLm2"))
    assert "Zq8!vT3#pLm2" not in repr(desk.uow.state.messages) + repr(desk.uow.state.outbox)
    assert outbox(desk)[-4:] == [("staff", "edit"), ("customer", "delete"), ("customer", "post"), ("staff", "post")]


async def test_customer_texts_follow_the_customers_language():
    desk = make_desk()
    french = Customer("discord", "u-alice", "Alice", "fr")
    text = render(await link_account(desk, link(french)), "fr")
    assert "valide jusqu'au 2027-05-31" in text and "expirée le 2026-10-31" in text
    opened = await open_ticket(desk, form(french))
    reply = render(opened.reply, "fr")
    assert "du lundi au vendredi, 09:00-12:00 et 14:00-18:00" in reply and "avant le jeu. 3 déc. 2026 16:00" in reply
    assert "en attente de notre réponse" in render(await customer_status(desk, french, opened.number), "fr")


async def test_a_side_cannot_edit_or_delete_what_the_other_side_wrote():
    desk, n = await opened_desk()
    await customer_post(desk, CustomerPost(ALICE, "m1", "customer text"))
    message = list(desk.uow.state.messages.values())[-1]
    message.staff_ref = "slack-copy-of-m1"  # what the dispatcher records once relayed
    before = outbox(desk)
    await edit_message(desk, Edit("staff", "e1", "slack-copy-of-m1", None))
    assert outbox(desk) == before and not desk.uow.state.messages[message.id].deleted
