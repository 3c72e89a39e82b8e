"""How long a customer message takes from the adapter's call to the staff platform port:
stored with its outbox row (one commit), leased, delivered, settled. SQLite by default.

    python -m bench.relay [--messages 500] [--url postgresql+asyncpg://postgres@127.0.0.1:5432/test]

On PostgreSQL it works in a scratch database created on that server and dropped afterwards.

The port is an in-process recorder, so the figure is the core's and the database's cost alone.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event

from bench.sweep import scratch_postgres
from bot.accounts import link_account
from bot.calendar import BusinessCalendar
from bot.commands import CustomerPost
from bot.conversation import customer_post
from bot.desk import Desk
from bot.domain import Licence, Target
from bot.licences import StoredLicences
from bot.opening import open_ticket
from bot.outbox import Dispatcher
from storage.migrate import upgrade
from supportbot.bootstrap import Store, open_store
from supportbot.clock import SystemClock
from tests.core_helpers import ALICE, form, link, make_policy
from tests.fakes import RecordingPort


@dataclass
class Relay:
    """A desk with one open ticket and a dispatcher over in-process recorders, on a store."""

    store: Store
    desk: Desk
    dispatcher: Dispatcher
    port: RecordingPort
    statements: int = 0
    transactions: int = 0


async def prepare(url: str, migrate: bool = True) -> Relay:
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
    await open_ticket(desk, form())
    port = RecordingPort("s")
    dispatcher = Dispatcher(store.uow, desk.clock, {Target.STAFF: port, Target.CUSTOMER: RecordingPort("c")},
                            wake=store.wake)
    await dispatcher.run_once()
    relay = Relay(store, desk, dispatcher, port)
    sync_engine = store.engine.sync_engine

    @event.listens_for(sync_engine, "before_cursor_execute")
    def _count_statement(*_: Any) -> None:
        relay.statements += 1

    @event.listens_for(sync_engine, "begin")
    def _count_transaction(*_: Any) -> None:  # committed or rolled back, read-only ones too
        relay.transactions += 1

    return relay


async def relay_timings(relay: Relay, messages: int, tag: str = "bench") -> list[float]:
    """Milliseconds per customer message: stored with its outbox row, leased, delivered, settled."""
    before = sum(1 for d in relay.port.delivered if d.action == "post")
    timings = []
    for i in range(messages):
        started = time.perf_counter()
        await customer_post(relay.desk, CustomerPost(ALICE, f"{tag}-{i}", f"message {i}"))
        await relay.dispatcher.run_once()
        timings.append((time.perf_counter() - started) * 1000)
    assert sum(1 for d in relay.port.delivered if d.action == "post") - before == messages
    return timings


async def measure(url: str, messages: int) -> tuple[list[float], float, float]:
    """(timings, statements per message, transactions per message)."""
    relay = await prepare(url)
    try:
        statements, transactions = relay.statements, relay.transactions
        timings = await relay_timings(relay, messages)
        return (timings, (relay.statements - statements) / messages,
                (relay.transactions - transactions) / messages)
    finally:
        await relay.store.engine.dispose()


async def on_scratch(url: str, messages: int) -> tuple[list[float], float, float]:
    if not url.startswith("postgresql"):
        return await measure(url, messages)
    name = f"bench_relay_{uuid.uuid4().hex[:8]}"
    scratch = await scratch_postgres(url, True, name)
    try:
        return await measure(scratch, messages)
    finally:
        await scratch_postgres(url, False, name)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite+aiosqlite:///{tmp}/relay.db"
        timings, statements, transactions = asyncio.run(on_scratch(url, args.messages))
    timings.sort()
    print(f"relay of {args.messages} customer messages ({url.split(':')[0]}): "
          f"median {statistics.median(timings):.2f} ms, p95 {timings[int(len(timings) * 0.95)]:.2f} ms, "
          f"max {timings[-1]:.2f} ms; {statements:.1f} statements in {transactions:.1f} transactions a message")


if __name__ == "__main__":
    main()
