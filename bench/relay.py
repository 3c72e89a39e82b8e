"""How long a customer message written in its ticket's thread takes from the adapter's call to the
staff platform: stored with its outbox row (one commit; the row handed to the dispatcher in
memory), delivered, settled; and, in the same run, the floor: one bare chat.postMessage plus one
durable commit of a tiny row on the same database. SQLite by default. On SQLite, BEGIN goes with
a transaction's first statement (storage/sqlite_driver.py): it is counted as a transaction, not
as a statement.

    python -m bench.relay [--messages 500] [--url postgresql+asyncpg://postgres@127.0.0.1:5432/test]

On PostgreSQL it works in a scratch database created on that server and dropped afterwards.
The relay delivers through the real Slack port and the floor posts through a real slack_sdk
AsyncWebClient, both to the local fake Slack (tests/slack/fake_slack.py), in alternating
blocks so a busy machine weighs on both alike; it prints relay/floor (target <= 2.5).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table

from adapters.slack.pacing import ChannelPacer
from adapters.slack.runner import build_slack
from bench.counting import Counted
from bench.sweep import scratch_postgres
from bot.commands import CustomerPost
from bot.customers.accounts import link_account
from bot.customers.licences import StoredLicences
from bot.delivery.outbox import Dispatcher
from bot.desk import Desk
from bot.domain import Licence, Target
from bot.ports import DeliveryPort
from bot.tickets.conversation import customer_post
from bot.tickets.opening import open_ticket
from bot.tickets.ticket_numbers import find_ticket
from bot.time.calendar import BusinessCalendar
from storage.engine import make_connection_factory
from storage.migrate import upgrade
from supportbot.bootstrap import Store, open_store
from supportbot.clock import SystemClock
from tests.core_helpers import ALICE, form, link, make_policy
from tests.fakes import RecordingPort
from tests.slack.fake_slack import BOT_TOKEN, FakeSlack

RATIO_TARGET = 2.5

_floor_metadata = MetaData()
# the floor's tiny row: not part of the schema, created in the bench's own database only
FLOOR_ROWS = Table("bench_floor", _floor_metadata, Column("id", Integer, primary_key=True),
                   Column("body", String(40)))


@dataclass
class Relay:
    """A desk with one open ticket and a dispatcher over a staff port, on a store."""

    store: Store
    desk: Desk
    dispatcher: Dispatcher
    port: RecordingPort
    counted: Counted = field(default_factory=Counted)
    thread: str | None = None  # the ticket's customer thread, where the customer writes
    # how many staff posts were delivered so far (the recorder's, or the fake Slack's)
    posts: Callable[[], int] = field(default=lambda: 0)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def close(self) -> None:
        for close in self.closers:
            await close()
        await self.store.engine.dispose()


async def prepare(url: str, migrate: bool = True, slack: FakeSlack | None = None) -> Relay:
    """With `slack`, the staff side is the real Slack port posting to that fake (unpaced:
    the floor is not paced either); without, an in-process recorder."""
    if migrate:
        await upgrade(url)
    store = await open_store(url, migrate=False)
    policy = make_policy()
    every_day = {d: ((datetime.min.time(), datetime.max.time().replace(microsecond=0)),) for d in range(7)}
    policy = policy.__class__(**{**policy.__dict__, "calendar": BusinessCalendar(UTC, every_day)})
    desk = Desk(store.uow, SystemClock(), policy, StoredLicences(store.uow))
    async with store.uow() as uow:
        await uow.licences.upsert(Licence("SEO-ALICE", "alice@example.com", "seo-suite",
                                          datetime.now(UTC) + timedelta(days=365)))
        await uow.commit()
    await link_account(desk, link())
    opened = await open_ticket(desk, form())
    recorder = RecordingPort("s")
    staff: DeliveryPort = recorder
    closers: list[Callable[[], Awaitable[None]]] = []
    posts: Callable[[], int] = lambda: sum(1 for d in recorder.delivered if d.action == "post")  # noqa: E731
    if slack is not None:
        parts = build_slack(desk, token=BOT_TOKEN, api_url=slack.api_url)
        parts.port.pacer = ChannelPacer.unpaced()
        staff, posts = parts.port, lambda: len(slack.called("chat.postMessage"))
        closers.append(parts.close)
    dispatcher = Dispatcher(store.uow, desk.clock, {Target.STAFF: staff, Target.CUSTOMER: RecordingPort("c")},
                            wake=store.wake, new_rows=store.new_rows)
    await dispatcher.run_once()
    async with store.uow() as uow:
        ticket = await find_ticket(uow, opened.number)
    assert ticket is not None and ticket.customer_thread_ref is not None
    relay = Relay(store, desk, dispatcher, recorder, posts=posts, closers=closers, thread=ticket.customer_thread_ref)
    return relay


async def relay_timings(relay: Relay, messages: int, tag: str = "bench") -> list[float]:
    """Milliseconds per customer message: stored with its outbox row, delivered, settled."""
    before = relay.posts()
    timings = []
    for i in range(messages):
        started = time.perf_counter()
        # as the Discord adapter hands it over: written in the ticket's thread
        await customer_post(relay.desk, CustomerPost(ALICE, f"{tag}-{i}", f"message {i}", thread_ref=relay.thread))
        await relay.dispatcher.run_once()
        timings.append((time.perf_counter() - started) * 1000)
    assert relay.posts() - before == messages
    return timings


@dataclass
class Floor:
    """The least a relay can cost: one bare chat.postMessage and one durable commit."""

    relay: Relay
    slack: FakeSlack
    client: Any = None
    connect: Any = None
    channel: str = "C0SEO"

    async def start(self) -> Floor:
        import aiohttp

        from adapters.slack.client import make_client

        async with self.relay.store.engine.begin() as connection:
            await connection.run_sync(_floor_metadata.create_all)
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        self.client = make_client(BOT_TOKEN, self.slack.api_url, session=session)  # pooled, like the bot's
        self.connect = make_connection_factory(self.relay.store.engine)
        self.relay.closers.insert(0, session.close)
        return self

    async def timings(self, messages: int, tag: str = "floor") -> list[float]:
        timings = []
        for i in range(messages):
            started = time.perf_counter()
            await self.client.chat_postMessage(channel=self.channel, text=f"{tag} {i}")
            connection = await self.connect().start()  # as a unit of work connects
            try:
                await connection.execute(FLOOR_ROWS.insert().values(body=f"{tag} {i}"))
                await connection.commit()
            finally:
                await connection.close()
            timings.append((time.perf_counter() - started) * 1000)
        return timings


@dataclass
class Measured:
    relay: list[float]
    floor: list[float]
    statements: float
    transactions: float


async def measure(url: str, messages: int, block: int = 25) -> Measured:
    slack = await FakeSlack().start()
    relay = await prepare(url, slack=slack)
    try:
        floor = await Floor(relay, slack).start()
        await relay_timings(relay, 10, "warm")
        await floor.timings(10, "warm")
        counted = 10  # untimed: the timed blocks run without the counting listeners
        relay.counted.watch(relay.store.engine)
        await relay_timings(relay, counted, "counted")
        relay.counted.stop()
        on_relay: list[float] = []
        on_floor: list[float] = []
        for start in range(0, messages, block):
            size = min(block, messages - start)
            on_relay += await relay_timings(relay, size, f"b{start}")
            on_floor += await floor.timings(size, f"b{start}")
        return Measured(on_relay, on_floor, relay.counted.statements / counted, relay.counted.transactions / counted)
    finally:
        await relay.close()
        await slack.stop()


async def on_scratch(url: str, messages: int) -> Measured:
    if not url.startswith("postgresql"):
        return await measure(url, messages)
    name = f"bench_relay_{uuid.uuid4().hex[:8]}"
    scratch = await scratch_postgres(url, True, name)
    try:
        return await measure(scratch, messages)
    finally:
        await scratch_postgres(url, False, name)


def summary(timings: list[float]) -> str:
    ordered = sorted(timings)
    return (f"median {statistics.median(ordered):.2f} ms, p95 {ordered[int(len(ordered) * 0.95)]:.2f} ms, "
            f"max {ordered[-1]:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite+aiosqlite:///{tmp}/relay.db"
        result = asyncio.run(on_scratch(url, args.messages))
    ratio = statistics.median(result.relay) / statistics.median(result.floor)
    verdict = "ok" if ratio <= RATIO_TARGET else "OVER TARGET"
    print(f"{args.messages} customer messages ({url.split(':')[0]}), relay and floor in alternating blocks:")
    print(f"  relay: {summary(result.relay)}; "
          f"{result.statements:.1f} statements in {result.transactions:.1f} transactions a message (untimed rounds)")
    print(f"  floor: {summary(result.floor)} (one bare chat.postMessage + one durable commit)")
    print(f"  relay/floor (medians): x{ratio:.2f} (target <= {RATIO_TARGET}: {verdict})")


if __name__ == "__main__":
    main()
