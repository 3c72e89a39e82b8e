"""Satisfaction on Discord: the 1-5 buttons after a close, the comment form, refusals for others."""

from __future__ import annotations

from typing import Any

from bot.commands import StaffClose
from bot.domain import CloseReason
from bot.tickets.actions import staff_close
from tests.core_helpers import BOB
from tests.discord import payloads as p
from tests.discord.conftest import Rig
from tests.discord.flows import ALICE, CAROL, link_core, open_ticket, thread_of


def in_thread(rig: Rig, payload: dict[str, Any], thread: int) -> dict[str, Any]:
    """Discord sends the (archived, locked) thread itself as the interaction's channel."""
    payload["channel"] = {**rig.fake.channels[thread], "permissions": "0"}
    return payload


async def test_rating_buttons_open_the_comment_form_and_the_rating_is_kept_once(rig: Rig) -> None:
    await link_core(rig, ALICE, "alice@example.com", "SEO-ALICE")
    await open_ticket(rig, ALICE)
    [number] = rig.store.state.tickets
    await rig.dispatcher.run_once()
    thread = thread_of(rig, number)
    await staff_close(rig.desk, StaffClose(BOB, number, CloseReason.RESOLVED))
    await rig.dispatcher.run_once()
    [ask] = [c for c in rig.fake.posts_in(thread) if "How did we do" in (c.body.get("content") or "")]
    ids = [b["custom_id"] for row in ask.body["components"] for b in row["components"]]
    assert ids == [f"ticket:rate:{number}:{s}" for s in range(1, 6)]
    message = next(m for m in rig.fake.messages.values() if "How did we do" in m["content"])
    await link_core(rig, CAROL, "carol@example.com", "SEO-CAROL")

    carol = in_thread(rig, p.button_press(f"ticket:rate:{number}:1", message, CAROL, channel_id=thread), thread)
    await rig.fake.interact(carol)
    assert await rig.fake.reply_text(carol) == f"There is no ticket #{number} of yours."

    press = in_thread(rig, p.button_press(f"ticket:rate:{number}:4", message, ALICE, channel_id=thread), thread)
    callback = (await rig.fake.interact(press))[0].body
    assert callback["type"] == 9 and callback["data"]["title"] == "Your rating: 4/5"
    submit = in_thread(rig, p.modal_submit(callback["data"], ["Fast and <b>kind</b>"], ALICE), thread)
    await rig.fake.interact(submit)
    assert await rig.fake.reply_text(submit) == f"Thank you for rating ticket #{number}!"
    rating = rig.store.state.ratings[number]
    assert (rating.score, rating.comment) == (4, "Fast and <b>kind</b>")

    again = in_thread(rig, p.button_press(f"ticket:rate:{number}:5", message, ALICE, channel_id=thread), thread)
    await rig.fake.interact(again)
    assert await rig.fake.reply_text(again) == f"Ticket #{number} has already been rated. Thank you!"
    assert rig.store.state.ratings[number].score == 4
