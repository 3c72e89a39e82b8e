"""What a customer does in Discord, as sequences of gateway events against the fake."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bot.commands import Customer, LinkAccount
from bot.customers.accounts import link_account
from tests.discord import payloads as p
from tests.discord.conftest import Rig

ALICE = p.user(111000000000000001, "Alice")
CAROL = p.user(111000000000000002, "Carol")
EPHEMERAL = 64

FORM = {"subject": "Checkout button does nothing", "description": "Clicking Place order does nothing.",
        "steps": "Add a product, go to checkout, click Place order.", "changes": "None.", "errors": ""}


def customer(who: dict[str, Any]) -> Customer:
    return Customer("discord", who["id"], who["global_name"])


async def eventually(check: Callable[[], Any], within: float = 3.0) -> Any:
    """Wait for a condition on state the fake's client changes in the background."""
    async with asyncio.timeout(within):
        while not (result := check()):  # noqa: ASYNC110 (state changed by the client, no event)
            await asyncio.sleep(0.005)
    return result


async def link_core(rig: Rig, who: dict[str, Any], email: str, key: str) -> None:
    await link_account(rig.desk, LinkAccount(customer(who), email, key))


async def link(rig: Rig, who: dict[str, Any], email: str, key: str, locale: str = "en-US") -> str:
    command = p.slash("support", "link", who, locale)
    callback = (await rig.fake.interact(command))[0].body
    assert callback["type"] == 9  # a modal
    submit = p.modal_submit(callback["data"], [email, key], who, locale)
    await rig.fake.interact(submit)
    return await rig.fake.reply_text(submit)


async def open_command(rig: Rig, who: dict[str, Any], product: str = "one-step-checkout",
                       magento: str = "2.4.6", module: str = "1.3.0",
                       locale: str = "en-US") -> tuple[dict[str, Any], dict[str, Any]]:
    command = p.slash("ticket", "open", who, locale, product=product, magento=magento, module=module)
    return command, (await rig.fake.interact(command))[0].body


async def open_ticket(rig: Rig, who: dict[str, Any], product: str = "seo-suite", locale: str = "en-US",
                      **fields: str) -> tuple[dict[str, Any], str]:
    """The whole /ticket open: command, modal, submit; returns the submit and what it answered."""
    _, callback = await open_command(rig, who, product, locale=locale)
    assert callback["type"] == 9, callback
    values = {**FORM, **fields}
    submit = p.modal_submit(callback["data"], list(values.values()), who, locale)
    await rig.fake.interact(submit)
    return submit, await rig.fake.reply_text(submit)


def thread_of(rig: Rig, number: int) -> int:
    ticket = rig.store.state.tickets[number]
    assert ticket.customer_thread_ref
    return int(ticket.customer_thread_ref)
