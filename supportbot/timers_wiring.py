"""Runs the core's sweep on a schedule: one APScheduler 3.11 interval job in the bot's process.

APScheduler only ticks; the deadlines live in the database and are claimed atomically, so
the job keeps nothing in memory and several processes may run it over one PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.delivery.housekeeping import prune
from bot.desk import Desk
from bot.time.timers import sweep
from supportbot.metrics import Metrics

log = logging.getLogger(__name__)


def make_sweep(desk: Desk, metrics: Metrics | None = None) -> Callable[[], Awaitable[int]]:
    async def run() -> int:
        started = time.perf_counter()
        try:
            return await sweep(desk)
        finally:
            if metrics is not None:
                metrics.sweep_duration.observe(time.perf_counter() - started)

    return run


class SweepScheduler(AsyncIOScheduler):
    """An AsyncIOScheduler whose stop waits for the sweep in hand: APScheduler's own shutdown
    cancels it mid-transaction without awaiting it, while the engine is being disposed."""

    async def stop(self, timeout: float = 30.0) -> None:
        if not self.running:
            return
        self.pause()  # no new tick from here on
        executor: Any = self._lookup_executor("default")
        pending = [f for f in getattr(executor, "_pending_futures", ()) if not f.done()]
        late: set[Any] = set()
        if pending:
            _done, late = await asyncio.wait(pending, timeout=timeout)
        self.shutdown(wait=False)  # cancels what is still running after the timeout
        await asyncio.gather(*late, return_exceptions=True)


def start_scheduler(desk: Desk, every_seconds: int = 30, metrics: Metrics | None = None,
                    daily: Callable[[], Awaitable[Any]] | None = None,
                    prune_every_seconds: int = 3600) -> SweepScheduler:
    """Sweep now (catch up on what fell due while the bot was down), then every `every_seconds`;
    `daily` (the retention job) now and then once a day; prune delivered outbox rows and old
    processed events every `prune_every_seconds`."""
    run = make_sweep(desk, metrics)
    scheduler = SweepScheduler(timezone=UTC)

    async def job() -> None:
        try:
            fired = await run()
            if fired:
                log.info("sweep fired %s reminders", fired)
        except Exception:
            log.exception("sweep failed; it runs again at the next tick")

    # next_run_time=now: the first sweep runs at start, catching up on the downtime
    scheduler.add_job(job, "interval", seconds=every_seconds, coalesce=True, max_instances=1,
                      misfire_grace_time=None, id="sweep", next_run_time=datetime.now(UTC))
    if daily is not None:
        async def daily_job() -> None:
            try:
                await daily()
            except Exception:
                log.exception("daily job failed; it runs again tomorrow")

        scheduler.add_job(daily_job, "interval", hours=24, coalesce=True, max_instances=1,
                          misfire_grace_time=None, id="daily", next_run_time=datetime.now(UTC))

    async def housekeeping() -> None:
        try:
            await prune(desk)
        except Exception:
            log.exception("pruning failed; it runs again at the next tick")

    # first run a minute after start: pruning a backlog must not compete with the start-up sweep
    scheduler.add_job(housekeeping, "interval", seconds=prune_every_seconds, coalesce=True, max_instances=1,
                      misfire_grace_time=None, id="housekeeping",
                      next_run_time=datetime.now(UTC) + timedelta(seconds=60))
    scheduler.start()
    return scheduler
