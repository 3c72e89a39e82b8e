"""Runs the core's sweep on a schedule: one APScheduler 3.11 interval job in the bot's process.

APScheduler only ticks; the deadlines live in the database and are claimed atomically, so
the job keeps nothing in memory and several processes may run it over one PostgreSQL.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.desk import Desk
from bot.housekeeping import prune
from bot.timers import sweep

log = logging.getLogger(__name__)


def make_sweep(desk: Desk) -> Callable[[], Awaitable[int]]:
    async def run() -> int:
        return await sweep(desk)

    return run


def start_scheduler(desk: Desk, every_seconds: int = 30, prune_every_seconds: int = 3600) -> AsyncIOScheduler:
    """Sweep now (catch up on what fell due while the bot was down), then every `every_seconds`;
    prune delivered outbox rows and old processed events every `prune_every_seconds`."""
    run = make_sweep(desk)

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
