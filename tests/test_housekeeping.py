"""Pruning delivered outbox rows and old processed events (SQLite and PostgreSQL), on a schedule."""

from __future__ import annotations

from datetime import timedelta

from bot.customers.licences import StoredLicences
from bot.delivery.housekeeping import DELIVERED_OUTBOX_KEPT, PROCESSED_EVENTS_KEPT, prune
from bot.desk import Desk
from bot.domain import OutboxItem, OutboxStatus, Target
from bot.ports import UnitOfWorkFactory
from bot.time.clock import ManualClock
from supportbot.timers_wiring import start_scheduler
from tests.core_helpers import make_desk, make_policy
from tests.test_storage import T0

NOW = T0 + timedelta(days=30)


def _row(status: OutboxStatus, delivered_days_ago: float | None) -> OutboxItem:
    delivered = NOW - timedelta(days=delivered_days_ago) if delivered_days_ago is not None else None
    return OutboxItem(Target.STAFF, "post", {}, created_at=T0, status=status, delivered_at=delivered)


async def test_prune_keeps_pending_dead_and_recent_rows(uow_factory: UnitOfWorkFactory) -> None:
    desk = Desk(uow_factory, ManualClock(NOW), make_policy(), StoredLicences(uow_factory))
    async with uow_factory() as uow:
        old = [await uow.outbox.add(_row(OutboxStatus.DELIVERED, 3 + i / 100)) for i in range(23)]
        kept = [await uow.outbox.add(_row(OutboxStatus.DELIVERED, 1)),
                await uow.outbox.add(_row(OutboxStatus.PENDING, None)),
                await uow.outbox.add(_row(OutboxStatus.DEAD, None))]
        for i in range(17):
            assert await uow.events.first_time("slack", f"old-{i}", NOW - PROCESSED_EVENTS_KEPT - timedelta(hours=i + 1))
        assert await uow.events.first_time("slack", "recent", NOW - PROCESSED_EVENTS_KEPT + timedelta(hours=1))
        await uow.commit()

    assert await prune(desk, batch=5) == (23, 17)  # several batches, each its own transaction
    async with uow_factory() as uow:
        assert [await uow.outbox.get(item.id) for item in old if item.id] == [None] * len(old)
        assert None not in [await uow.outbox.get(item.id) for item in kept if item.id]
        # an event past the window may come again (no platform retries that late); a recent one may not
        assert await uow.events.first_time("slack", "old-3", NOW)
        assert not await uow.events.first_time("slack", "recent", NOW)
    assert await prune(desk, batch=5) == (0, 0)


async def test_retention_outlasts_every_platform_retry_window() -> None:
    assert PROCESSED_EVENTS_KEPT >= timedelta(days=1) and DELIVERED_OUTBOX_KEPT >= timedelta(hours=1)


async def test_the_scheduler_runs_the_pruning() -> None:
    desk = make_desk()
    scheduler = start_scheduler(desk, every_seconds=3600, prune_every_seconds=3600)
    try:
        job = scheduler.get_job("housekeeping")
        assert job is not None and job.trigger.interval == timedelta(hours=1)
    finally:
        scheduler.shutdown(wait=False)
