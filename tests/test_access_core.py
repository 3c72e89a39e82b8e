"""Temporary access through the core on in-memory fakes: only ciphertext is stored, staff read it
on demand (audited), and it is destroyed on close and on expiry."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from adapters.crypto import FernetCipher
from bot.commands import Customer, CustomerClose, StaffClose
from bot.customers.accounts import link_account
from bot.desk import Desk
from bot.domain import CloseReason, Target
from bot.errors import Refusal
from bot.secrets.access import submit_access, view_access
from bot.texts import render
from bot.tickets.actions import customer_close, request_access, staff_close
from bot.tickets.opening import open_ticket
from bot.time.timers import sweep
from tests.core_helpers import ALICE, BOB, form, link, make_desk

PASSWORD = "Pa55-unmistakable-9f3k"
CAROL = Customer("discord", "u-carol", "Carol")
TODAY = date(2026, 12, 3)  # core_helpers.OPEN_TIME, local
cipher = FernetCipher.ephemeral()


async def requested() -> tuple[Desk, int]:
    desk = make_desk()
    await link_account(desk, link())
    number = (await open_ticket(desk, form())).number
    await request_access(desk, BOB, number)
    return desk, number


async def send(desk: Desk, number: int | None, who: Customer = ALICE, until: date = TODAY + timedelta(days=7),
               password: str = PASSWORD) -> str:
    reply = await submit_access(desk, cipher, who, number, "https://shop.example.com/admin", "vendor-support",
                                password, "2FA disabled for this user", until)
    return render(reply)


def refusal_key(exc: pytest.ExceptionInfo[Refusal]) -> str:
    return exc.value.text.key


async def test_the_request_offers_the_private_form_to_the_customer() -> None:
    desk, number = await requested()
    [ask] = [o for o in desk.uow.state.outbox.values()
             if o.target is Target.CUSTOMER and o.payload.get("text", {}).get("key") == "access_request"]
    assert ask.payload["access_form"] is True and ask.ticket_id == number


async def test_submit_stores_only_ciphertext_and_tells_staff() -> None:
    desk, number = await requested()
    reply = await send(desk, None)  # her only open ticket
    assert reply.startswith(f"Thank you: your temporary access for ticket #{number} is stored encrypted")
    state = desk.uow.state
    [grant] = state.access.values()
    assert grant.ticket_id == number and PASSWORD.encode() not in grant.ciphertext
    assert json.loads(cipher.decrypt(grant.ciphertext))["password"] == PASSWORD
    assert PASSWORD not in repr(state)  # not in messages, outbox, audit, anywhere
    # valid through the whole 10 December at the desk (UTC+1)
    assert grant.expires_at.isoformat() == "2026-12-10T23:00:00+00:00"
    staff_texts = [o.payload.get("text", {}).get("key") for o in state.outbox.values() if o.target is Target.STAFF]
    assert "access_received_note" in staff_texts
    assert [o.action for o in state.outbox.values()][-1] == "card_update"
    [entry] = [e for e in state.audit if e.action == "access_submitted"]
    assert entry.actor == "discord:u-alice"


async def test_a_second_submission_replaces_the_first() -> None:
    desk, number = await requested()
    await send(desk, number, password="first-one")
    await send(desk, number, password="second-one")
    [grant] = desk.uow.state.access.values()
    assert json.loads(cipher.decrypt(grant.ciphertext))["password"] == "second-one"


async def test_staff_view_decrypts_and_is_audited() -> None:
    desk, number = await requested()
    await send(desk, number)
    desk.clock.advance(hours=2)
    shown = await view_access(desk, cipher, BOB, number)
    assert f"Password: {PASSWORD}" in shown and "Login: vendor-support" in shown
    assert "valid until 2026-12-10" in shown
    [viewed] = [e for e in desk.uow.state.audit if e.action == "access_viewed"]
    assert (viewed.actor, viewed.at, viewed.ticket_id) == ("staff:s-bob", desk.clock.now(), number)
    assert PASSWORD not in repr(desk.uow.state)


async def test_refused_without_a_request() -> None:
    desk = make_desk()
    await link_account(desk, link())
    number = (await open_ticket(desk, form())).number
    with pytest.raises(Refusal) as exc:
        await send(desk, number)
    assert refusal_key(exc) == "access_not_requested" and not desk.uow.state.access


async def test_refused_for_another_customers_ticket() -> None:
    desk, number = await requested()
    with pytest.raises(Refusal) as exc:
        await send(desk, number, who=CAROL)
    assert refusal_key(exc) == "unknown_ticket" and not desk.uow.state.access


@pytest.mark.parametrize(("until", "key"), [(TODAY - timedelta(days=1), "access_in_past"),
                                            (TODAY + timedelta(days=31), "access_too_far")])
async def test_refused_outside_the_allowed_validity(until: date, key: str) -> None:
    desk, number = await requested()
    with pytest.raises(Refusal) as exc:
        await send(desk, number, until=until)
    assert refusal_key(exc) == key and not desk.uow.state.access


async def test_refused_with_an_empty_password() -> None:
    desk, number = await requested()
    with pytest.raises(Refusal) as exc:
        await send(desk, number, password="  ")
    assert refusal_key(exc) == "access_missing"


async def test_view_is_refused_when_none_was_sent_or_after_expiry() -> None:
    desk, number = await requested()
    with pytest.raises(Refusal) as exc:
        await view_access(desk, cipher, BOB, number)
    assert refusal_key(exc) == "access_none"
    await send(desk, number, until=TODAY)
    desk.clock.advance(days=1)  # past the end of 3 December at the desk
    with pytest.raises(Refusal) as exc:
        await view_access(desk, cipher, BOB, number)
    assert refusal_key(exc) == "access_none"
    assert not [e for e in desk.uow.state.audit if e.action == "access_viewed"]


async def test_view_with_another_key_is_refused_not_garbled() -> None:
    desk, number = await requested()
    await send(desk, number)
    with pytest.raises(Refusal) as exc:
        await view_access(desk, FernetCipher.ephemeral(), BOB, number)
    assert refusal_key(exc) == "access_unreadable"


@pytest.mark.parametrize("closer", ["customer", "staff"])
async def test_closing_destroys_the_access(closer: str) -> None:
    desk, number = await requested()
    await send(desk, number)
    if closer == "customer":
        await customer_close(desk, CustomerClose(ALICE, number))
    else:
        await staff_close(desk, StaffClose(BOB, number, CloseReason.RESOLVED))
    assert not desk.uow.state.access
    assert [e.action for e in desk.uow.state.audit if e.action == "access_destroyed"] == ["access_destroyed"]


async def test_the_sweep_destroys_expired_access_and_tells_staff() -> None:
    desk, number = await requested()
    await send(desk, number, until=TODAY + timedelta(days=2))
    desk.clock.advance(days=2)
    await sweep(desk)
    assert desk.uow.state.access  # still valid through 5 December
    desk.clock.advance(days=1)
    await sweep(desk)
    assert not desk.uow.state.access
    [entry] = [e for e in desk.uow.state.audit if e.action == "access_destroyed"]
    assert entry.detail == {"why": "expired"}
    last = list(desk.uow.state.outbox.values())[-1]
    assert (last.target, last.payload["text"]["key"]) == (Target.STAFF, "access_expired_note")
