"""Issue 12 items 2b–8 through the core, on SQLite and PostgreSQL where the database matters:
NUL bytes, odd ticket numbers, validation holes, notes that must stay internal, licence keys
typed in another case, and a second identity linking to an account."""

from __future__ import annotations

import pytest

from bot.commands import Customer, CustomerPost, LinkAccount, StaffPost
from bot.customers.accounts import link_account
from bot.desk import Desk
from bot.domain import MessageKind, Target
from bot.errors import Refusal
from bot.ports import UnitOfWorkFactory
from bot.texts import Text, render
from bot.tickets.conversation import customer_post, staff_post
from bot.tickets.opening import open_ticket
from bot.tickets.queries import customer_status, staff_ticket
from bot.tickets.ticket_numbers import MAX_TICKET_NUMBER, parse_ticket_number
from bot.validation import clean_form
from tests.core_helpers import ALICE, BOB, form, link, make_desk, make_dispatcher, make_sql_desk

ALICE_TOO = Customer("discord", "u-alice-phone", "Alice (phone)")
MALLORY = Customer("discord", "u-mallory", "Mallory")


async def opened(desk: Desk, **fields: str) -> int:
    return (await open_ticket(desk, form(**fields))).number


async def messages(desk: Desk, number: int) -> list[tuple[MessageKind, str]]:
    async with desk.uow() as uow:
        return [(m.kind, m.body) for m in await uow.messages.for_ticket(number)]


# --- 2b: NUL and what PostgreSQL text rejects, removed at the core's entrance ---------------


async def test_nul_bytes_never_reach_the_database(uow_factory: UnitOfWorkFactory) -> None:
    desk = await make_sql_desk(uow_factory)
    await link_account(desk, LinkAccount(ALICE, "alice@example.com", "SEO-\x00ALICE"))
    n = await opened(desk, subject="Sitemap\x00 empty", description="No\x00 products \ud800here")
    assert await customer_post(desk, CustomerPost(ALICE, "d1", "still\x00 broken", ticket_number=n)) is None
    await staff_post(desk, StaffPost(BOB, "s1", "Try\x00 this", "m1", ticket_number=n))
    async with desk.uow() as uow:
        ticket = await uow.tickets.get(n)
    assert ticket is not None and ticket.subject == "Sitemap empty" and ticket.description == "No products here"
    assert await messages(desk, n) == [(MessageKind.CUSTOMER, "still broken"), (MessageKind.STAFF, "Try this")]


# --- 3 and 6: ticket numbers -----------------------------------------------------------------


@pytest.mark.parametrize("typed, number", [("12", 12), ("#12", 12), (" #0012 ", 12), (str(MAX_TICKET_NUMBER), MAX_TICKET_NUMBER)])
def test_a_ticket_number_is_ascii_digits(typed: str, number: int) -> None:
    assert parse_ticket_number(typed) == number


@pytest.mark.parametrize("typed, key", [
    ("²", "bad_ticket_number"), ("١٢", "bad_ticket_number"), ("-1", "bad_ticket_number"), ("abc", "bad_ticket_number"),
    ("#1; DROP TABLE tickets", "bad_ticket_number"), ("", "bad_ticket_number"), ("1.5", "bad_ticket_number"),
    ("0", "no_such_ticket"), ("99999999999999999999", "no_such_ticket"), ("3000000000", "no_such_ticket"),
])
def test_anything_else_is_refused_with_a_sentence(typed: str, key: str) -> None:
    with pytest.raises(Refusal) as exc:
        parse_ticket_number(typed)
    assert exc.value.text.key == key
    assert len(render(exc.value.text)) < 120  # a huge number is not echoed whole


async def test_numbers_beyond_the_column_are_tickets_that_do_not_exist(uow_factory: UnitOfWorkFactory) -> None:
    desk = await make_sql_desk(uow_factory)
    await link_account(desk, link())
    await opened(desk)
    for number in (3_000_000_000, 10**20, 0, -1):
        with pytest.raises(Refusal) as exc:
            await customer_status(desk, ALICE, number)
        assert exc.value.text.key == "unknown_ticket"
        with pytest.raises(Refusal) as exc:
            await staff_ticket(desk, BOB, number)
        assert exc.value.text.key == "no_such_ticket"
        reply = await customer_post(desk, CustomerPost(ALICE, f"d{number}", "hello", ticket_number=number))
        assert reply is not None and reply.key == "unknown_ticket"


async def test_status_without_a_number_lists_when_there_is_not_exactly_one(uow_factory: UnitOfWorkFactory) -> None:
    desk = await make_sql_desk(uow_factory)
    await link_account(desk, link())
    assert (await customer_status(desk, ALICE, None)).key == "list_empty"  # 0 open: crashed on SQLite
    n = await opened(desk)
    assert (await customer_status(desk, ALICE, None)).params["number"] == n
    await opened(desk, subject="Robots.txt is ignored")
    assert (await customer_status(desk, ALICE, None)).key == "list"  # 2 open


async def test_staff_told_of_ticket_zero_hear_its_number() -> None:
    desk = make_desk()
    with pytest.raises(Refusal) as exc:
        await staff_post(desk, StaffPost(BOB, "s1", "hello", "m1", ticket_number=0))
    assert render(exc.value.text) == "There is no ticket #0."


# --- 4: validation ---------------------------------------------------------------------------


@pytest.mark.parametrize("field, value", [
    ("magento_version", "2.４.７"), ("magento_version", "2.4.6\n2.4.7"), ("module_version", "١.٤.٢"),
    ("module_version", "1.3.0\n#9"), ("magento_version", "2." + "9" * 5000),
])
def test_versions_are_ascii_and_a_bad_one_is_echoed_short(field: str, value: str) -> None:
    with pytest.raises(Refusal) as exc:
        clean_form(form(**{field: value}))
    assert exc.value.text.key.startswith("bad_") and len(render(exc.value.text)) < 200


def test_a_subject_is_one_line_so_it_cannot_forge_a_list_line() -> None:
    forged = "Broken\n#9 [seo-suite] x | awaiting_staff | U0EVIL123 | 1h left\u2028and\tmore"
    subject = clean_form(form(subject=forged))["subject"]
    assert "\n" not in subject and "\u2028" not in subject and "\t" not in subject
    assert subject.startswith("Broken #9 [seo-suite]")


# --- 5: internal notes fail closed -----------------------------------------------------------


@pytest.mark.parametrize("typed", ["note: x", "*note:* x", "_note:_ x", "> note: x", "note : x", "\u200bnote: x",
                                   "NOTE: x", "~note:~ x", "`note:` x", "ｎｏｔｅ： x"])
async def test_every_way_of_writing_the_note_prefix_stays_internal(typed: str) -> None:
    desk = make_desk()
    await link_account(desk, link())
    n = await opened(desk)
    assert await staff_post(desk, StaffPost(BOB, "s1", typed, "m1", ticket_number=n)) is None
    assert await messages(desk, n) == [(MessageKind.NOTE, "x")]
    assert not [o for o in desk.uow.state.outbox.values() if o.target is Target.CUSTOMER and o.message_id]  # type: ignore[attr-defined]


@pytest.mark.parametrize("typed", ["note - check the logs", "note; internal", "Note. Check"])
async def test_a_message_that_only_looks_like_a_note_is_kept_and_its_author_told(typed: str) -> None:
    desk = make_desk()
    await link_account(desk, link())
    n = await opened(desk)
    reply = await staff_post(desk, StaffPost(BOB, "s1", typed, "m1", ticket_number=n))
    assert reply is not None and "NOT sent to the customer" in render(reply)
    assert await messages(desk, n) == [(MessageKind.NOTE, typed)]


@pytest.mark.parametrize("typed", ["Note that 1.3.1 fixes it", "Notes on the fix: …", "Please update"])
async def test_answers_that_merely_start_with_the_word_go_to_the_customer(typed: str) -> None:
    desk = make_desk()
    await link_account(desk, link())
    n = await opened(desk)
    assert await staff_post(desk, StaffPost(BOB, "s1", typed, "m1", ticket_number=n)) is None
    assert await messages(desk, n) == [(MessageKind.STAFF, typed)]


# --- 7: licence keys -------------------------------------------------------------------------


async def test_a_key_typed_in_lower_case_links_and_costs_no_attempt(uow_factory: UnitOfWorkFactory) -> None:
    desk = await make_sql_desk(uow_factory)
    reply = await link_account(desk, LinkAccount(ALICE, " Alice@Example.com ", "  seo-alice "))
    assert reply.key == "linked"
    async with desk.uow() as uow:
        assert await uow.link_attempts.since(ALICE.platform, ALICE.user_id, desk.clock.now().replace(year=2000)) == []
        assert (await uow.licences.get("seo-alice")) == (await uow.licences.get("SEO-ALICE"))


# --- 8: another identity links to the account -------------------------------------------------


async def test_the_first_identity_is_told_when_another_links(uow_factory: UnitOfWorkFactory) -> None:
    desk = await make_sql_desk(uow_factory)
    dispatcher, customer, staff, _ = make_dispatcher(desk)
    await link_account(desk, link())
    n = await opened(desk)
    await dispatcher.run_once()
    await link_account(desk, link())  # Alice again: nobody new
    await link_account(desk, link(MALLORY))
    await link_account(desk, link(ALICE_TOO))
    await dispatcher.run_once()
    dms = [d for d in customer.delivered if d.action == "dm_user"]
    assert [(d.payload["user_id"], d.payload["text"]["params"]["name"]) for d in dms] == [
        ("u-alice", "Mallory"), ("u-alice", "Alice (phone)")]
    assert "ask our staff to unlink" in render(Text.from_dict(dms[0].payload["text"]))
    # the cards are redrawn: staff see every identity linked (adapters/slack/card.py)
    assert [d.ticket.number for d in staff.delivered if d.action == "card_update" and d.ticket] == [n, n]
    async with desk.uow() as uow:
        assert [i.user_id for i in await uow.identities.for_account(1)] == ["u-alice", "u-mallory", "u-alice-phone"]
