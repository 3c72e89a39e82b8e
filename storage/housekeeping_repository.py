"""SQL repository for housekeeping: what no query needs any more is deleted, a batch at a time.

A batch is a range of the time index, cut at the `limit`-th oldest row: the boundary is read
from the index, then a plain range DELETE follows it (a DELETE … WHERE id IN (subquery) made
PostgreSQL hash-join against a scan of the whole table).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnClause, ColumnElement, String, Table, delete, literal_column, select

from storage.models import outbox, processed_events
from storage.repositories import SqlRepository

# Inline literal, as in the partial index's predicate, so the planners can match it.
_DELIVERED: ColumnClause[str] = literal_column("'delivered'", String())


class SqlHousekeeping(SqlRepository):
    async def prune_delivered_outbox(self, before: datetime, limit: int) -> int:
        """Delete the oldest outbox rows delivered before `before`: at least `limit` of them
        (more when several share the boundary's time) or all there are; returns how many.
        Pending and dead rows are never touched (dead rows wait for an operator)."""
        return await self._prune(outbox, outbox.c.delivered_at, before, limit, outbox.c.status == _DELIVERED)

    async def prune_processed_events(self, before: datetime, limit: int) -> int:
        """Delete the oldest processed events recorded before `before`, as above; returns how many."""
        return await self._prune(processed_events, processed_events.c.at, before, limit)

    async def _prune(self, table: Table, at: ColumnElement[Any], before: datetime, limit: int,
                     *where: ColumnElement[bool]) -> int:
        boundary_stmt = select(at).where(*where, at < before).order_by(at).offset(max(limit - 1, 0)).limit(1)
        boundary = (await self._db.execute(boundary_stmt)).scalar_one_or_none()
        in_batch = at <= boundary if boundary is not None else at < before
        result = await self._db.execute(delete(table).where(*where, at < before, in_batch))
        return int(result.rowcount)  # type: ignore[attr-defined]
