"""Counts for monitoring, read at scrape time: the outbox by target and state, open tickets by
status and product. Grouped in SQL, so a scrape costs two small queries whatever the volume."""

from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.models import outbox, tickets


async def outbox_depth(engine: AsyncEngine) -> list[tuple[str, str, int]]:
    """(target, state, rows) with state queued (never tried), retrying (tried, pending) or dead;
    delivered rows are history, not depth, and are left out."""
    state = case((outbox.c.status == "dead", "dead"), (outbox.c.attempts > 0, "retrying"), else_="queued")
    query = (select(outbox.c.target, state, func.count())
             .where(outbox.c.status != "delivered").group_by(outbox.c.target, state))
    async with engine.connect() as connection:
        return [(t, s, n) for t, s, n in (await connection.execute(query)).all()]


async def open_tickets(engine: AsyncEngine) -> list[tuple[str, str, int]]:
    """(status, product, tickets) of tickets not closed."""
    query = (select(tickets.c.status, tickets.c.product, func.count())
             .where(tickets.c.status != "closed").group_by(tickets.c.status, tickets.c.product))
    async with engine.connect() as connection:
        return [(s, p, n) for s, p, n in (await connection.execute(query)).all()]
