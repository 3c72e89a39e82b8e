"""The end-to-end world: both platform fakes and the real composition root in one event loop
(the `world` fixture, registered in tests/conftest.py), and the customer's first steps in it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from discord import Client as DiscordClient

from adapters.discord.port import DiscordCustomerPort
from adapters.slack.pacing import ChannelPacer
from adapters.slack.port import SlackStaffPort
from bot.customers.licences import import_licences
from bot.delivery.outbox import Dispatcher
from bot.domain import Target, Ticket
from bot.time.clock import ManualClock
from supportbot.bootstrap import Runtime, build_runtime
from supportbot.platforms import start_platforms
from supportbot.settings import Settings
from tests.discord import payloads as p
from tests.discord.fake_discord import DiscordPyUrls, FakeDiscord
from tests.discord.flows import ALICE, FORM, eventually
from tests.e2e_helpers import LICENCES, WORKING_HOURS, e2e_settings, free_port
from tests.slack.fake_slack import FakeSlack


@dataclass
class World:
    slack: FakeSlack
    discord: FakeDiscord
    runtime: Runtime
    dispatcher: Dispatcher
    client: DiscordClient
    slack_port: int

    async def tickets(self) -> list[Ticket]:
        async with self.runtime.desk.uow() as uow:
            return await uow.tickets.list_open()


@pytest.fixture
async def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[World]:
    for name in Settings.model_fields:  # nothing from the developer's environment leaks in
        monkeypatch.delenv(name.upper(), raising=False)
    urls = DiscordPyUrls()
    slack, fake_discord = FakeSlack(), FakeDiscord()
    runtime: Runtime | None = None
    try:
        await slack.start()
        await fake_discord.start()
        slack_port = free_port()
        settings = e2e_settings(tmp_path, slack, fake_discord, slack_port)
        runtime = await build_runtime(settings, ManualClock(WORKING_HOURS))
        await import_licences(runtime.store.uow, LICENCES)
        ports = await start_platforms(runtime)
        staff, customer = ports[Target.STAFF], ports[Target.CUSTOMER]
        assert isinstance(staff, SlackStaffPort) and isinstance(customer, DiscordCustomerPort)
        staff.pacer = ChannelPacer.unpaced()  # Slack's pacing would only slow the test
        await eventually(lambda: customer.client.get_channel(p.SUPPORT_ID), within=5.0)  # GUILD_CREATE seen
        yield World(slack, fake_discord, runtime, runtime.start_dispatcher(ports), customer.client, slack_port)
    finally:
        if runtime is not None:
            await runtime.close()
        await fake_discord.stop()
        await slack.stop()
        urls.restore()


def button(message: dict[str, Any], label: str) -> str:
    [custom_id] = [b["custom_id"] for row in message["components"] for b in row["components"]
                   if b["label"] == label]
    return custom_id


async def link_and_open(w: World) -> Ticket:
    """/support link, then /ticket open whose subject matches a manual page: open it anyway."""
    command = p.slash("support", "link", ALICE)
    [modal] = await w.discord.interact(command)
    submit = p.modal_submit(modal.body["data"], ["alice@example.com", "SEO-ALICE"], ALICE)
    await w.discord.interact(submit)
    assert "linked to alice@example.com" in await w.discord.reply_text(submit)

    command = p.slash("ticket", "open", ALICE, product="seo-suite", magento="2.4.6", module="1.3.0")
    [modal] = await w.discord.interact(command)
    assert modal.body["type"] == 9, modal.body
    values = {**FORM, "subject": "Sitemap xml is empty"}
    submit = p.modal_submit(modal.body["data"], list(values.values()), ALICE)
    await w.discord.interact(submit)
    text = await w.discord.reply_text(submit)
    assert text.startswith("These pages of the manual may answer your question:")
    assert await w.tickets() == []
    suggestion = next(m for m in reversed(w.discord.messages.values()) if m["components"])
    press = p.button_press(button(suggestion, "Open the ticket anyway"), suggestion, ALICE)
    await w.discord.interact(press)
    opened = await w.discord.reply_text(press)  # the ticket is opened after the deferred callback
    [ticket] = await w.tickets()
    assert opened.startswith(f"Ticket #{ticket.number} is open")
    return ticket
