"""GET /metrics: the real `run_platforms` against both platform fakes, scraped with
prometheus_client's own parser while a ticket travels from Discord to Slack and back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.customers.accounts import link_account
from bot.customers.licences import import_licences
from bot.tickets.opening import open_ticket
from bot.time.clock import ManualClock
from bot.time.timers import sweep
from supportbot.bootstrap import build_runtime, open_store
from supportbot.platforms import run_platforms
from supportbot.settings import Settings
from supportbot.timers_wiring import make_sweep
from tests.core_helpers import form, link
from tests.discord import payloads as p
from tests.discord.fake_discord import DiscordPyUrls, FakeDiscord
from tests.discord.flows import ALICE
from tests.e2e_helpers import LICENCES, WORKING_HOURS, e2e_settings, free_port, post_slack_event
from tests.slack.fake_slack import FakeSlack
from tests.test_end_to_end import link_and_open

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(port: int) -> Samples:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain")
            text = await response.text()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@dataclass
class Running:
    slack: FakeSlack
    discord: FakeDiscord
    settings: Settings
    health_port: int
    slack_port: int

    async def tickets(self):  # type: ignore[no-untyped-def]  # what link_and_open looks at
        store = await open_store(self.settings.database_url)
        try:
            async with store.uow() as uow:
                return await uow.tickets.list_open()
        finally:
            await store.engine.dispose()


@pytest.fixture
async def running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Running]:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    urls = DiscordPyUrls()
    slack, fake_discord = FakeSlack(), FakeDiscord()
    task: asyncio.Task[None] | None = None
    try:
        await slack.start()
        await fake_discord.start()
        slack_port, health_port = free_port(), free_port()
        settings = e2e_settings(tmp_path, slack, fake_discord, slack_port)
        settings = settings.model_copy(update={"health_port": health_port})
        store = await open_store(settings.database_url)
        await import_licences(store.uow, LICENCES)
        await store.engine.dispose()
        task = asyncio.create_task(run_platforms(settings))
        world = Running(slack, fake_discord, settings, health_port, slack_port)

        async def serving() -> bool:
            try:
                return bool(await scrape(health_port))
            except aiohttp.ClientError:
                return False

        async with asyncio.timeout(30):
            while not await serving():
                assert not task.done(), task
                await asyncio.sleep(0.05)
            # READY and GUILD_CREATE sent: the client sees them before any command of the test
            while fake_discord.seq < 2:
                await asyncio.sleep(0.01)
        yield world
    finally:
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await fake_discord.stop()
        await slack.stop()
        urls.restore()


async def test_metrics_move_while_a_ticket_travels(running: Running) -> None:
    w = running
    before = await scrape(w.health_port)
    assert value(before, "supportbot_tickets_open", status="awaiting_staff", product="seo-suite") == 0
    assert value(before, "supportbot_deliveries_total", platform="slack", action="card") == 0

    ticket = await link_and_open(w)  # type: ignore[arg-type]
    opened = await scrape(w.health_port)
    assert value(opened, "supportbot_tickets_open", status="awaiting_staff", product="seo-suite") == 1
    assert value(opened, "supportbot_inbound_events_total", platform="discord", kind="interaction_create") >= 5
    assert value(opened, "supportbot_licence_checks_total", result="valid") >= 1

    async def delivered(platform: str, action: str) -> bool:
        return value(await scrape(w.health_port), "supportbot_deliveries_total", platform=platform, action=action) > 0

    async with asyncio.timeout(20):  # the background dispatcher opens the thread and posts the card
        while not (await delivered("slack", "card") and await delivered("discord", "open_thread")):
            await asyncio.sleep(0.05)
    [t] = await w.tickets()
    assert t.number == ticket.number and t.staff_thread_ref
    card_ts = t.staff_thread_ref.split(":")[-1]

    # a staff answer, sent twice as Slack does on a slow acknowledgement: relayed once
    reply = {"type": "message", "user": "U0000BOB", "text": "regenerate it in admin", "ts": "1700000500.000001",
             "thread_ts": card_ts, "channel": "C0SEO", "channel_type": "channel"}
    assert await post_slack_event(w.slack_port, reply, "EvStaff1") == 200
    assert await post_slack_event(w.slack_port, reply, "EvStaff1") == 200
    # the customer pastes a password in the thread: redacted before it is stored
    said = p.message(p.snowflake(), int(t.customer_thread_ref or 0), ALICE, "my admin password is Hunter22!x")
    await w.discord.dispatch("MESSAGE_CREATE", said)

    async def settled() -> Samples | None:
        s = await scrape(w.health_port)
        done = (value(s, "supportbot_deliveries_total", platform="discord", action="post") >= 1
                and value(s, "supportbot_redactions_total", kind="password") >= 1
                and value(s, "supportbot_inbound_duplicates_total", platform="slack") >= 1)
        return s if done else None

    after = None
    async with asyncio.timeout(20):
        while not (after := await settled()):
            await asyncio.sleep(0.05)
    assert value(after, "supportbot_inbound_events_total", platform="slack", kind="message") >= 2
    assert value(after, "supportbot_inbound_events_total", platform="discord", kind="message_create") >= 1
    assert value(after, "supportbot_tickets_open", status="awaiting_customer", product="seo-suite") \
        + value(after, "supportbot_tickets_open", status="awaiting_staff", product="seo-suite") == 1
    assert value(after, "supportbot_delivery_latency_seconds_count", platform="slack") >= 1
    assert value(after, "supportbot_delivery_latency_seconds_count", platform="discord") >= 2
    assert value(after, "supportbot_sweep_duration_seconds_count") >= 1  # the sweep at start
    # no id of a ticket, user or message is a label: every label value is from a small fixed set
    labels = {v for (_, pairs) in after for k, v in pairs if k != "le"}
    assert not {str(ticket.number), ALICE["id"], "EvStaff1", reply["ts"]} & labels


async def test_answer_promise_warnings_breaches_and_outbox_depth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ticket nobody answers: the sweep warns, then breaches; its rows wait in the outbox (no platform)."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    settings = e2e_settings(tmp_path, FakeSlack(), FakeDiscord(), free_port())
    clock = ManualClock(WORKING_HOURS)
    runtime = await build_runtime(settings, clock)
    try:
        await import_licences(runtime.store.uow, LICENCES)
        await link_account(runtime.desk, link(email="alice@example.com", key="SEO-ALICE"))
        await open_ticket(runtime.desk, form(subject="Checkout is broken"))  # through the metered desk
        run = make_sweep(runtime.desk, runtime.metrics)
        clock.advance(timedelta(hours=5, minutes=10))  # 15:10 local: an hour of the 4 working hours left
        await run()
        clock.advance(timedelta(hours=1))  # 16:10: the promise is broken
        await run()
        await sweep(runtime.desk)  # nothing new: fired once each
        samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
                   for f in text_string_to_metric_families((await runtime.render_metrics()).decode())
                   for s in f.samples}
        assert value(samples, "supportbot_answer_promise_warnings_total") == 1
        assert value(samples, "supportbot_answer_promise_breaches_total") == 1
        assert value(samples, "supportbot_sweep_duration_seconds_count") == 2
        assert value(samples, "supportbot_outbox_rows", platform="slack", state="queued") >= 3
        assert value(samples, "supportbot_outbox_rows", platform="discord", state="queued") >= 1
        assert value(samples, "supportbot_licence_checks_total", result="valid") >= 1
    finally:
        await runtime.close()
