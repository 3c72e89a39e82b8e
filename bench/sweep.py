"""How long one timers sweep (bot.time.timers.sweep) takes with 10k, 100k and 1M stored tickets.

Mostly closed tickets, some open ones with deadlines in the future, and a few (10) due:
the sweep should cost what is due, not what is stored. Each size gets a fresh, migrated
database filled with bulk SQL (COPY on PostgreSQL, executemany in chunks on SQLite).

    python -m bench.sweep                                  # everything (1M rows take minutes)
    python -m bench.sweep --db sqlite --sizes 10000,100000 --runs 5
    BENCH_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test python -m bench.sweep --db postgres
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.customers.licences import StoredLicences
from bot.desk import Desk
from bot.domain import Ticket
from bot.policy import Policy, Product
from bot.time.calendar import BusinessCalendar
from bot.time.clock import ManualClock
from bot.time.timers import sweep
from storage.engine import make_connection_factory, make_engine
from storage.migrate import upgrade
from storage.models import accounts, tickets
from storage.uow import sql_uow_factory

NOW = datetime(2027, 3, 3, 10, 0, tzinfo=UTC)  # a Wednesday, desk open
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
CHUNK = 20_000
TARGET_MS_AT_100K, TARGET_RATIO = 50.0, 1.5
COLUMNS = [f.name for f in fields(Ticket) if f.name != "id"]


def ticket_rows(size: int, due: int, open_share: float) -> Iterator[dict[str, Any]]:
    """`size` rows: `due` with a warning due now, `open_share` open with future deadlines, the rest closed."""
    every_due, every_open = max(size // due, 1), max(int(1 / open_share), 1)
    past, future = NOW - timedelta(days=400), NOW + timedelta(days=400)
    for i in range(size):
        row: dict[str, Any] = dict.fromkeys(COLUMNS)
        row.update(account_id=1, customer_platform="discord", customer_user_id=f"u{i % 5000}",
                   customer_name="Customer", customer_email="customer@example.com", product="seo-suite",
                   subject=f"Question {i}", magento_version="2.4.6", module_version="1.3.0",
                   description="Something is broken.", steps="Steps.", changes="None.", errors="",
                   opened_at=past + timedelta(seconds=i), licence_expires_at=future,
                   staff_channel="support-seo", locale="en", period=1, waiting_since=past)
        if i % every_due == 0 and i // every_due < due:
            row.update(status="awaiting_staff", sla_warn_at=NOW - timedelta(minutes=1), sla_due_at=future)
        elif i % every_open == 1:
            if i % 2:
                row.update(status="awaiting_staff", sla_warn_at=future, sla_due_at=future)
            else:
                row.update(status="awaiting_customer", nudge_at=future, autoclose_warn_at=future,
                           autoclose_at=future)
        else:  # closed long ago, often behind a licence that has expired since
            row.update(status="closed", closed_at=past, close_reason="resolved", closed_by="system",
                       licence_expires_at=past if i % 3 else future)
        yield row


async def fill(engine: AsyncEngine, size: int, due: int, open_share: float) -> None:
    async with engine.begin() as connection:
        await connection.execute(insert(accounts).values(id=1, email="customer@example.com"))
    rows = ticket_rows(size, due, open_share)
    if engine.dialect.name == "postgresql":
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            records = ([row[c] for c in COLUMNS] for row in rows)
            await raw.driver_connection.copy_records_to_table("tickets", records=records, columns=COLUMNS)  # type: ignore[union-attr]
            await connection.commit()
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.exec_driver_sql("VACUUM ANALYZE tickets")
        return
    while True:
        chunk = [row for _, row in zip(range(CHUNK), rows, strict=False)]
        if not chunk:
            break
        async with engine.begin() as connection:
            await connection.execute(insert(tickets), chunk)
    async with engine.begin() as connection:
        await connection.exec_driver_sql("ANALYZE")


async def rearm(engine: AsyncEngine, due_ids: list[int]) -> None:
    """Make the due warnings due again, under a new waiting period (a fresh ledger key)."""
    async with engine.begin() as connection:
        await connection.execute(update(tickets).where(tickets.c.id.in_(due_ids))
                                 .values(period=tickets.c.period + 1, sla_warn_at=NOW - timedelta(minutes=1)))


def bench_policy() -> Policy:
    return Policy(calendar=BusinessCalendar.default(),
                  products={"seo-suite": Product("seo-suite", "SEO Suite", "support-seo")})


async def measure(url: str, size: int, due: int, runs: int, open_share: float) -> tuple[float, float, float]:
    """(median ms of a sweep with `due` due, median ms of an idle sweep, seconds to fill)."""
    await upgrade(url)
    engine = make_engine(url)
    try:
        started = time.perf_counter()
        await fill(engine, size, due, open_share)
        filled = time.perf_counter() - started
        async with engine.connect() as connection:
            due_ids = list((await connection.execute(
                select(tickets.c.id).where(text("status != 'closed'"), tickets.c.sla_warn_at <= NOW))).scalars())
        assert len(due_ids) == due, f"expected {due} due tickets, found {len(due_ids)}"
        uow = sql_uow_factory(make_connection_factory(engine))
        desk = Desk(uow, ManualClock(NOW), bench_policy(), StoredLicences(uow))
        busy, idle = [], []
        for run in range(runs + 1):  # the first run warms caches and connections: not counted
            await rearm(engine, due_ids)
            t0 = time.perf_counter()
            fired = await sweep(desk)
            t1 = time.perf_counter()
            await sweep(desk)
            t2 = time.perf_counter()
            assert fired == due, f"the sweep fired {fired}, expected {due}"
            if run:
                busy.append((t1 - t0) * 1000)
                idle.append((t2 - t1) * 1000)
        return statistics.median(busy), statistics.median(idle), filled
    finally:
        await engine.dispose()


async def scratch_postgres(server_url: str, create: bool, name: str) -> str:
    admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            if create:
                await connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
            else:
                await connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def run_one(db: str, size: int, args: argparse.Namespace) -> tuple[float, float, float]:
    if db == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-sweep-") as folder:
            return await measure(f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}", size, args.due, args.runs,
                                 args.open_share)
    server = os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG)
    name = f"bench_sweep_{uuid.uuid4().hex[:10]}"
    url = await scratch_postgres(server, True, name)
    try:
        return await measure(url, size, args.due, args.runs, args.open_share)
    finally:
        await scratch_postgres(server, False, name)


async def main(args: argparse.Namespace) -> None:
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]
    for db in args.db.split(","):
        results: dict[int, float] = {}
        print(f"\n{db}: one sweep, {args.due} due, {args.open_share:.0%} open, median of {args.runs} runs")
        print(f"{'tickets':>10} {'sweep ms':>9} {'idle ms':>8} {'fill s':>7}")
        for size in sizes:
            busy, idle, filled = await run_one(db, size, args)
            results[size] = busy
            print(f"{size:>10,} {busy:>9.1f} {idle:>8.1f} {filled:>7.1f}", flush=True)
        if 100_000 in results:
            verdict = "ok" if results[100_000] <= TARGET_MS_AT_100K else "OVER TARGET"
            print(f"  100k: {results[100_000]:.1f} ms (target <= {TARGET_MS_AT_100K:.0f} ms): {verdict}")
        if 10_000 in results and 1_000_000 in results:
            ratio = results[1_000_000] / results[10_000]
            verdict = "ok" if ratio <= TARGET_RATIO else "OVER TARGET"
            print(f"  sweep(1M)/sweep(10k) = {ratio:.2f} (target <= {TARGET_RATIO}): {verdict}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--db", default="sqlite,postgres", help="sqlite, postgres or both (comma-separated)")
    parser.add_argument("--sizes", default="10000,100000,1000000", help="ticket counts, comma-separated")
    parser.add_argument("--runs", type=int, default=7, help="timed sweeps per size (the median is shown)")
    parser.add_argument("--due", type=int, default=10, help="tickets with a reminder due at each sweep")
    parser.add_argument("--open-share", type=float, default=0.05, help="share of open tickets (not due)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
