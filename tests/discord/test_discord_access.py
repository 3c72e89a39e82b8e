"""Temporary access from Discord: staff's request carries a button, the button opens a private
form for the ticket's customer only, and what is submitted is stored encrypted."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.tickets.actions import request_access
from tests.core_helpers import BOB
from tests.discord import payloads as p
from tests.discord.conftest import Rig
from tests.discord.flows import ALICE, CAROL, EPHEMERAL, link_core
from tests.discord.test_discord_thread import opened
from tests.fakes import FakeStore

PASSWORD = "Disc0rd-form-secret-77"
FORM = ["https://shop.example.com/admin", "vendor-support", PASSWORD, "2FA off for this user", "2026-12-10"]


async def request(rig: Rig) -> tuple[int, int, dict[str, Any]]:
    """A ticket whose customer was asked for access; returns its number, thread and the request message."""
    number, thread = await opened(rig)
    await request_access(rig.desk, BOB, number)
    await rig.dispatcher.run_once()
    ask = rig.fake.posts_in(thread)[-1]
    assert "asks for temporary access" in ask.body["content"]
    [message] = [m for m in rig.fake.messages.values() if m["content"] == ask.body["content"]]
    return number, thread, message


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for row in message["components"] for c in row["components"]]


async def test_button_modal_submit_stores_only_ciphertext(rig: Rig) -> None:
    number, thread, message = await request(rig)
    [button] = buttons(message)
    assert (button["custom_id"], button["label"]) == (f"ticket:access:{number}", "Send temporary access")
    press = p.button_press(button["custom_id"], message, ALICE, channel_id=thread)
    callback = (await rig.fake.interact(press))[0].body
    assert callback["type"] == 9  # the modal
    modal = callback["data"]
    assert not modal["custom_id"].startswith("ticket:")  # discord.py's random id, one per form
    assert len(modal["components"]) == 5
    submit = p.modal_submit(modal, FORM, ALICE)
    await rig.fake.interact(submit)
    reply = await rig.fake.reply_text(submit)
    assert reply.startswith(f"Thank you: your temporary access for ticket #{number} is stored encrypted")
    assert all(a.get("flags") == EPHEMERAL for a in rig.fake.answers(submit) if a.get("content"))
    [grant] = rig.store.state.access.values()
    assert PASSWORD.encode() not in grant.ciphertext and PASSWORD not in repr(rig.store.state)
    cipher = rig.client.cipher
    assert cipher is not None
    assert json.loads(cipher.decrypt(grant.ciphertext))["login"] == "vendor-support"
    await rig.dispatcher.run_once()
    assert not any(PASSWORD in json.dumps(c.body) for c in rig.fake.posts_in(thread))  # never in the thread
    assert "access_received_note" in [d.payload.get("text", {}).get("key") for d in rig.staff.delivered]


async def test_only_the_tickets_customer_gets_the_form(rig: Rig) -> None:
    number, thread, message = await request(rig)
    await link_core(rig, CAROL, "carol@example.com", "SEO-CAROL")
    press = p.button_press(f"ticket:access:{number}", message, CAROL, channel_id=thread)
    callback = (await rig.fake.interact(press))[0].body
    assert callback["type"] != 9
    assert await rig.fake.reply_text(press) == "Only the customer of this ticket can do this."
    assert not rig.store.state.access


async def test_a_bad_date_is_refused_with_the_format(rig: Rig) -> None:
    number, thread, message = await request(rig)
    press = p.button_press(f"ticket:access:{number}", message, ALICE, channel_id=thread)
    modal = (await rig.fake.interact(press))[0].body["data"]
    submit = p.modal_submit(modal, [*FORM[:4], "10/12/2026"], ALICE)
    await rig.fake.interact(submit)
    assert "is not a date: write the last day" in await rig.fake.reply_text(submit)
    assert not rig.store.state.access


async def test_a_failing_database_gets_an_apology_not_silence(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    number, thread, message = await request(rig)

    def down(self: FakeStore) -> None:
        raise ConnectionError("database down")

    monkeypatch.setattr(FakeStore, "__call__", down)
    press = p.button_press(f"ticket:access:{number}", message, ALICE, channel_id=thread)
    [callback] = await rig.fake.interact(press)
    assert callback.body["data"]["content"].startswith("Sorry, something went wrong on our side")
