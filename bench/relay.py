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
from datetime import UTC, datetime, timedelta

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
from supportbot.bootstrap import open_store
from supportbot.clock import SystemClock
from tests.core_helpers import ALICE, form, link, make_policy
from tests.fakes import RecordingPort


async def measure(url: str, messages: int) -> list[float]:
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
    timings = []
    for i in range(messages):
        started = time.perf_counter()
        await customer_post(desk, CustomerPost(ALICE, f"bench-{i}", f"message {i}"))
        await dispatcher.run_once()
        timings.append((time.perf_counter() - started) * 1000)
    assert sum(1 for d in port.delivered if d.action == "post") == messages
    await store.engine.dispose()
    return timings


async def on_scratch(url: str, messages: int) -> list[float]:
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
        timings = asyncio.run(on_scratch(url, args.messages))
    timings.sort()
    print(f"relay of {args.messages} customer messages ({url.split(':')[0]}): "
          f"median {statistics.median(timings):.2f} ms, p95 {timings[int(len(timings) * 0.95)]:.2f} ms, "
          f"max {timings[-1]:.2f} ms")


if __name__ == "__main__":
    main()
