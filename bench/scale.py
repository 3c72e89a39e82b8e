"""The bot on a database that has been in use for years: relay, /tickets, /tickets mine,
/tickets stats and idle CPU, with 100k tickets, 1M messages, 1M delivered outbox rows and 1M
processed events by default, and the planner's statistics gathered (ANALYZE, PRAGMA optimize).

    python -m bench.scale                                  # SQLite, 100k tickets (fills for minutes)
    python -m bench.scale --tickets 2000 --relay 50 --idle-seconds 5      # a quick run
    python -m bench.scale --db postgres [--url postgresql+asyncpg://postgres@127.0.0.1:5432/test]

The relay is also measured on an empty database in the same run, in alternating blocks of
messages so that a busy machine weighs on both alike: the ratio is what counts.
On PostgreSQL it works in scratch databases created beside --url and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from bench.relay import Relay, prepare, relay_timings
from bench.sweep import DEFAULT_PG, scratch_postgres
from bot.commands import Staff
from bot.desk import Desk
from bot.tickets.queries import staff_open_tickets, staff_stats
from bot.time.clock import ManualClock
from storage.engine import make_engine
from storage.migrate import upgrade
from supportbot.timers_wiring import start_scheduler
from tests.scale_seed import NOW, PRODUCTS, STAFF, seed

VIEW_TARGET_MS, RELAY_RATIO_TARGET, IDLE_TARGET = 50.0, 1.2, 0.01


@asynccontextmanager
async def scratch(db: str, server: str, tag: str) -> AsyncIterator[str]:
    """A fresh database url: a temporary SQLite file, or a scratch PostgreSQL database."""
    if db == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-scale-") as folder:
            yield f"sqlite+aiosqlite:///{Path(folder) / f'{tag}.db'}"
        return
    name = f"bench_scale_{tag}_{uuid.uuid4().hex[:8]}"
    url = await scratch_postgres(server, True, name)
    try:
        yield url
    finally:
        await scratch_postgres(server, False, name)


def summary(timings: list[float]) -> str:
    ordered = sorted(timings)
    return (f"median {statistics.median(ordered):7.2f} ms, p95 {ordered[int(len(ordered) * 0.95)]:7.2f} ms")


async def timed(run: Callable[[], Awaitable[str]], runs: int) -> tuple[float, int]:
    """(median ms over `runs` after one warm-up, characters of the answer)."""
    answer = await run()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        answer = await run()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), len(answer)


async def idle_cpu(relay: Relay, seconds: float) -> float:
    """Share of one core the process burns with nothing to do: the dispatcher waiting, the sweep ticking."""
    scheduler = start_scheduler(relay.desk, every_seconds=30)
    task = asyncio.create_task(relay.dispatcher.run_forever())
    try:
        await asyncio.sleep(1.0)  # the start-up sweep and the first pass are not idle
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        return (time.process_time() - cpu) / (time.perf_counter() - wall)
    finally:
        relay.dispatcher.stop()
        await asyncio.wait([task], timeout=10)
        scheduler.shutdown(wait=False)


async def relay_side_by_side(empty: Relay, full: Relay, messages: int, block: int = 10) -> tuple[list[float], list[float]]:
    """Relay timings on both databases in alternating blocks, so a busy machine weighs on both alike."""
    await relay_timings(empty, block, "warm")
    await relay_timings(full, block, "warm")
    on_empty: list[float] = []
    on_full: list[float] = []
    for start in range(0, messages, block):
        size = min(block, messages - start)
        on_empty += await relay_timings(empty, size, f"b{start}")
        on_full += await relay_timings(full, size, f"b{start}")
    return on_empty, on_full


async def run(db: str, args: argparse.Namespace) -> None:
    server = args.url or DEFAULT_PG
    print(f"\n{db}: {args.tickets:,} tickets, {args.tickets * args.per_ticket:,} messages, outbox rows "
          f"and processed events; statistics gathered", flush=True)
    async with scratch(db, server, "empty") as empty_url, scratch(db, server, "full") as url:
        await upgrade(url)
        engine = make_engine(url)
        started = time.perf_counter()
        try:
            await seed(engine, args.tickets, args.per_ticket)
        finally:
            await engine.dispose()
        print(f"  filled in {time.perf_counter() - started:.0f} s", flush=True)
        empty = await prepare(empty_url)
        full = await prepare(url, migrate=False)
        try:
            empty_timings, full_timings = await relay_side_by_side(empty, full, args.relay)
            ratio = statistics.median(full_timings) / statistics.median(empty_timings)
            verdict = "ok" if ratio <= RELAY_RATIO_TARGET else "OVER TARGET"
            print(f"  relay, empty database:  {summary(empty_timings)}", flush=True)
            print(f"  relay, full database:   {summary(full_timings)}  "
                  f"(x{ratio:.2f} the empty one; target <= {RELAY_RATIO_TARGET}: {verdict})", flush=True)
            await empty.store.engine.dispose()
            staff_desk = Desk(full.desk.uow, ManualClock(NOW), full.desk.policy, full.desk.licences)
            # a member of every product's channel: under the default "product" scope, sees every ticket
            viewer = Staff(STAFF[1], "Bob", frozenset(f"support-{p}" for p in PRODUCTS))
            views: dict[str, Callable[[], Awaitable[str]]] = {
                "/tickets": lambda: staff_open_tickets(staff_desk, viewer),
                "/tickets mine": lambda: staff_open_tickets(staff_desk, viewer, assignee=STAFF[1]),
                "/tickets stats": lambda: staff_stats(staff_desk, viewer),
            }
            for name, view in views.items():
                ms, chars = await timed(view, args.runs)
                verdict = "ok" if ms <= VIEW_TARGET_MS else "OVER TARGET"
                print(f"  {name:<15} {ms:8.1f} ms, {chars:>7,} characters (target <= {VIEW_TARGET_MS:.0f} ms: "
                      f"{verdict})", flush=True)
            share = await idle_cpu(full, args.idle_seconds)
            verdict = "ok" if share < IDLE_TARGET else "OVER TARGET"
            print(f"  idle CPU over {args.idle_seconds:.0f} s: {share:.2%} of a core (target < {IDLE_TARGET:.0%}: "
                  f"{verdict})", flush=True)
        finally:
            await empty.store.engine.dispose()
            await full.store.engine.dispose()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--db", default="sqlite", help="sqlite, postgres or both (comma-separated)")
    parser.add_argument("--url", default=None, help=f"PostgreSQL server for scratch databases ({DEFAULT_PG})")
    parser.add_argument("--tickets", type=int, default=100_000, help="stored tickets (5%% of them open)")
    parser.add_argument("--per-ticket", type=int, default=10, help="messages (and outbox rows) per ticket")
    parser.add_argument("--relay", type=int, default=200, help="customer messages relayed per database")
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each /tickets view (median shown)")
    parser.add_argument("--idle-seconds", type=float, default=20.0, help="how long idle CPU is measured")
    args = parser.parse_args(argv)
    if args.tickets < 1 or args.per_ticket < 1 or args.relay < 1 or args.runs < 1:
        parser.error("sizes and counts must be at least 1")
    return args


async def main(args: argparse.Namespace) -> None:
    for db in args.db.split(","):
        await run(db.strip(), args)


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
