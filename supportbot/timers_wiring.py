"""Runs the core's sweep on a schedule: one APScheduler 3.11 interval job in the bot's process.

APScheduler only ticks; the deadlines live in the database and are claimed atomically, so
the job keeps nothing in memory and several processes may run it over one PostgreSQL.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.desk import Desk
from bot.timers import sweep
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


def start_scheduler(desk: Desk, every_seconds: int = 30, metrics: Metrics | None = None,
                    daily: Callable[[], Awaitable[Any]] | None = None) -> AsyncIOScheduler:
    """Sweep now (catch up on what fell due while the bot was down), then every `every_seconds`;
    `daily` (the retention job) now and then once a day."""
    run = make_sweep(desk, metrics)

    async def job() -> None:
        try:
            fired = await run()
            if fired:
                log.info("sweep fired %s reminders", fired)
        except Exception:
            log.exception("sweep failed; it runs again at the next tick")

    scheduler = AsyncIOScheduler(timezone=UTC)
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
    scheduler.start()
    return scheduler
