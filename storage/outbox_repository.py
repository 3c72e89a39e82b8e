"""SQL repository for the outbox: intentions to call a platform, delivered in order per ticket."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnClause, String, exists, func, literal_column, or_, select, text, update

from bot.domain import OutboxItem, OutboxStatus, Target
from storage.models import UTCDateTime, outbox, row_dict
from storage.repositories import SqlRepository

OUTBOX_CHANNEL = "supportbot_outbox"

# Inline literal rather than a bind parameter: lets the planner match the status index.
_PENDING: ColumnClause[str] = literal_column(f"'{OutboxStatus.PENDING.value}'", String())


def outbox_values(item: OutboxItem) -> dict[str, Any]:
    values = asdict(item)
    del values["id"]
    values["target"] = item.target.value
    values["status"] = item.status.value
    return values


def outbox_from_row(row: Any) -> OutboxItem:
    values = row_dict(row)
    values["target"] = Target(values["target"])
    values["status"] = OutboxStatus(values["status"])
    return OutboxItem(**values)


class SqlOutboxRepository(SqlRepository):
    async def add(self, item: OutboxItem) -> OutboxItem:
        stmt = outbox.insert().values(**outbox_values(item)).returning(outbox.c.id)
        item.id = (await self._session.execute(stmt)).scalar_one()
        if self._dialect == "postgresql":
            # delivered at commit (and once per transaction): wakes the dispatchers of other processes
            await self._session.execute(text(f"NOTIFY {OUTBOX_CHANNEL}"))
        return item

    async def get(self, item_id: int) -> OutboxItem | None:
        row = (await self._session.execute(select(outbox).where(outbox.c.id == item_id))).first()
        return outbox_from_row(row) if row else None

    async def save(self, item: OutboxItem) -> None:
        assert item.id is not None, "save() needs a stored outbox item"
        stmt = update(outbox).where(outbox.c.id == item.id).values(**outbox_values(item))
        await self._session.execute(stmt)

    async def claim_due(self, now: datetime, limit: int = 50,
                        targets: Collection[Target] | None = None) -> list[OutboxItem]:
        older = outbox.alias("older")
        # A row waits while an older row of its ticket and target is pending (due or not),
        # which keeps order per ticket and destination; rows without a ticket go independently.
        has_older_pending = exists().where(
            older.c.ticket_id == outbox.c.ticket_id,
            older.c.target == outbox.c.target,
            older.c.status == _PENDING,
            older.c.id < outbox.c.id,
        )
        stmt = (
            select(outbox)
            .where(
                outbox.c.status == _PENDING,
                or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= now),
                ~has_older_pending,
                *([outbox.c.target.in_([t.value for t in targets])] if targets is not None else []),
            )
            .order_by(outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=outbox)
        )
        return [outbox_from_row(r) for r in await self._session.execute(stmt)]

    async def settle(self, item: OutboxItem, owner: str) -> bool:
        assert item.id is not None, "settle() needs a stored outbox item"
        item.leased_by = None
        stmt = (update(outbox).where(outbox.c.id == item.id, outbox.c.leased_by == owner)
                .values(**outbox_values(item)))
        return bool((await self._session.execute(stmt)).rowcount)  # type: ignore[attr-defined]

    async def renew(self, ids: Collection[int], owner: str, until: datetime) -> None:
        stmt = (update(outbox)
                .where(outbox.c.id.in_(list(ids)), outbox.c.leased_by == owner, outbox.c.status == _PENDING)
                .values(next_attempt_at=until))
        await self._session.execute(stmt)

    async def lease_owners(self, now: datetime) -> list[str]:
        stmt = select(outbox.c.leased_by).distinct().where(
            outbox.c.status == _PENDING, outbox.c.leased_by.is_not(None), outbox.c.next_attempt_at > now)
        return [owner for (owner,) in await self._session.execute(stmt)]

    async def release(self, owner: str, now: datetime) -> int:
        # leased_by stays: the next lease sees the attempt was interrupted (Delivery.interrupted)
        stmt = (update(outbox).where(outbox.c.leased_by == owner, outbox.c.status == _PENDING)
                .values(next_attempt_at=now))
        return int((await self._session.execute(stmt)).rowcount)  # type: ignore[attr-defined]

    async def next_due_at(self, targets: Collection[Target] | None = None) -> datetime | None:
        """Earliest next_attempt_at of pending rows; a pending row with none counts as due
        since it was created (so a caller sleeping until then wakes at once)."""
        due = func.coalesce(outbox.c.next_attempt_at, outbox.c.created_at)
        stmt = select(func.min(due, type_=UTCDateTime())).where(outbox.c.status == _PENDING)
        if targets is not None:
            stmt = stmt.where(outbox.c.target.in_([t.value for t in targets]))
        return (await self._session.execute(stmt)).scalar_one()
