"""Housekeeping: delivered outbox rows and old processed events are pruned on a schedule, so the
tables the relay reads and writes on every message stay small however long the bot runs.

Processed events are the duplicate filter for platform retries: they are kept far longer than
any platform retries an event (Slack: three retries within about five minutes; a Discord
RESUME replays what a dropped connection missed, within minutes).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.desk import Desk
from bot.ports import UnitOfWork

log = logging.getLogger(__name__)

DELIVERED_OUTBOX_KEPT = timedelta(days=2)  # recent deliveries stay for troubleshooting
PROCESSED_EVENTS_KEPT = timedelta(days=7)  # far beyond every platform's retry window
BATCH = 5_000  # rows per transaction: SQLite's single writer is never held long


async def prune(desk: Desk, batch: int = BATCH) -> tuple[int, int]:
    """Delete what is past its retention; returns (outbox rows, processed events) deleted."""
    now = desk.clock.now()
    delivered_before, seen_before = now - DELIVERED_OUTBOX_KEPT, now - PROCESSED_EVENTS_KEPT
    outbox_rows = await _in_batches(desk, batch, lambda uow: uow.housekeeping.prune_delivered_outbox(
        delivered_before, batch))
    events = await _in_batches(desk, batch, lambda uow: uow.housekeeping.prune_processed_events(seen_before, batch))
    if outbox_rows or events:
        log.info("pruned %s delivered outbox rows and %s processed events", outbox_rows, events)
    return outbox_rows, events


async def _in_batches(desk: Desk, batch: int, prune_batch: Callable[[UnitOfWork], Awaitable[int]]) -> int:
    """One transaction per batch, until a batch comes back short."""
    total = 0
    while True:
        async with desk.uow() as uow:
            done = await prune_batch(uow)
            await uow.commit()
        total += done
        if done < batch:
            return total
