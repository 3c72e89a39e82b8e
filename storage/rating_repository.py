"""SQL repository for satisfaction ratings: one per ticket, by the primary key."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict

from sqlalchemy import select

from bot.domain import Rating
from storage.models import ratings, row_dict
from storage.repositories import SqlRepository


class SqlRatingRepository(SqlRepository):
    async def add(self, rating: Rating) -> bool:
        return await self._insert_if_absent(ratings, asdict(rating))

    async def get(self, ticket_id: int) -> Rating | None:
        row = (await self._db.execute(select(ratings).where(ratings.c.ticket_id == ticket_id))).first()
        return Rating(**row_dict(row)) if row else None

    async def for_tickets(self, ticket_ids: Collection[int]) -> dict[int, Rating]:
        if not ticket_ids:
            return {}
        stmt = select(ratings).where(ratings.c.ticket_id.in_(list(ticket_ids)))
        return {r.ticket_id: r for r in (Rating(**row_dict(row)) for row in await self._db.execute(stmt))}
