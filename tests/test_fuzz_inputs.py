"""Hostile input at every entry point (hypothesis), through the real adapters against the fakes,
on SQLite and PostgreSQL: every command option, form field and message text either does what it
should or is answered with a sentence. Never a crash, an apology, silence, or a cut-off answer.

Strings mix what broke things before (NUL, lone surrogates, non-ASCII digits, line breaks and
`|`, Slack and Discord mentions, the note prefix in disguise, huge numbers) with random text."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.slack.app import APOLOGY
from bot.domain import MessageKind
from bot.ports import UnitOfWorkFactory
from tests.discord import payloads as p
from tests.matrix_rig import ALICE, BOB, World, world

NASTY = ["\x00", "\ud800", "\udfff", "\u200b", "\u202e", "\n", "\r\n", "\u2028", "|", " | U0EVIL123 | ", "<!channel>",
         "<@U0000BOB>", "@everyone", "&amp;", "*note:*", "_note:_", "> note:", "note :", "#0", "#", "²", "١٢",
         "2.４.７", "99999999999999999999", "3000000000", "-1", "'; DROP TABLE tickets; --", "`", "%s", "{number}",
         "\\", '"', "ｎｏｔｅ：", "x" * 5000]
HOSTILE = st.lists(st.one_of(st.sampled_from(NASTY), st.text(st.characters(exclude_categories=()), max_size=30)),
                   max_size=6).map("".join)
# a form-encoded body (slash commands) is UTF-8 bytes: it cannot carry a lone surrogate
FORM_TEXT = HOSTILE.map(lambda s: s.encode("utf-8", "surrogatepass").decode("utf-8", "replace"))
FUZZ = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
DISCORD_APOLOGIES = ("Sorry, something went wrong", "Sorry, your message could not be passed on", "expired")


@pytest.fixture
async def w(uow_factory: UnitOfWorkFactory) -> AsyncIterator[World]:
    async with world(uow_factory) as rig:
        rig.ticket_number = await rig.open()  # type: ignore[attr-defined]
        yield rig


def a_sentence(shown: str, limit: int) -> bool:
    return bool(shown.strip()) and len(shown) <= limit and shown != APOLOGY and "went wrong" not in shown \
        and not shown.startswith(DISCORD_APOLOGIES)


@FUZZ
@given(text=HOSTILE)
async def test_customer_text_in_the_thread_is_stored_or_answered(w: World, text: str) -> None:
    n = w.ticket_number  # type: ignore[attr-defined]
    before = len(await w.messages(n))
    shown = await w.thread_message(n, ALICE, text)
    stored = (await w.messages(n))[before:]
    assert stored or a_sentence(shown, 2000), (text, shown)
    assert all("\x00" not in m.body for m in stored)


@FUZZ
@given(text=HOSTILE)
async def test_staff_text_in_the_thread_is_stored_or_answered(w: World, text: str) -> None:
    n = w.ticket_number  # type: ignore[attr-defined]
    before = len(await w.messages(n))

    async def stored() -> bool:
        return len(await w.messages(n)) > before

    shown = await w.staff_reply(n, BOB, text, stored)
    new = (await w.messages(n))[before:]
    assert new or a_sentence(shown, 39000), (text, shown)
    assert all(m.kind in (MessageKind.STAFF, MessageKind.NOTE) for m in new)


@FUZZ
@given(text=FORM_TEXT)
async def test_every_tickets_command_gets_a_sentence(w: World, text: str) -> None:
    shown = await w.tickets_command(BOB, text)
    assert a_sentence(shown, 39000), (text, shown)


@FUZZ
@given(number=st.one_of(st.integers(1, 2**53), st.sampled_from([1, 2**31 - 1, 2**31, 3_000_000_000])),
       sub=st.sampled_from(["status", "close"]))
async def test_every_ticket_number_option_gets_a_sentence(w: World, number: int, sub: str) -> None:
    n = w.ticket_number  # type: ignore[attr-defined]
    was_open = (await w.ticket(n)).is_open
    shown = await w.interact(p.slash("ticket", sub, ALICE, number=number))
    assert a_sentence(shown, 2000), (number, shown)
    if number != n:  # another number never acts on this ticket
        assert (await w.ticket(n)).is_open == was_open


@FUZZ
@given(product=st.one_of(st.just("seo-suite"), HOSTILE), magento=st.one_of(st.just("2.4.6"), HOSTILE),
       module=st.one_of(st.just("1.3.0"), HOSTILE), fields=st.lists(HOSTILE, min_size=5, max_size=5))
async def test_every_open_option_and_form_field_opens_or_gets_a_sentence(
        w: World, product: str, magento: str, module: str, fields: list[str]) -> None:
    command = p.slash("ticket", "open", ALICE, product=product, magento=magento, module=module)
    callback = (await w.discord_fake.interact(command))[0].body
    if callback["type"] != 9:  # refused before the form
        assert a_sentence(await w.discord_fake.reply_text(command), 2000), (product, magento, module)
        return
    submit = p.modal_submit(callback["data"], fields, ALICE)
    await w.discord_fake.interact(submit)
    shown = await w.discord_fake.reply_text(submit)
    assert a_sentence(shown, 2000), (fields, shown)


@FUZZ
@given(email=st.one_of(st.just("alice@example.com"), HOSTILE), key=st.one_of(st.just(" seo-alice "), HOSTILE))
async def test_every_link_form_gets_a_sentence(w: World, email: str, key: str) -> None:
    command = p.slash("support", "link", ALICE)
    callback = (await w.discord_fake.interact(command))[0].body
    submit = p.modal_submit(callback["data"], [email, key], ALICE)
    await w.discord_fake.interact(submit)
    assert a_sentence(await w.discord_fake.reply_text(submit), 2000), (email, key)
