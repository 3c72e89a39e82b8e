"""SQL repository of temporary access grants: ciphertext in, ciphertext out (bot/secrets/access.py decrypts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from bot.domain import AccessGrant
from storage.models import access_grants, row_dict
from storage.repositories import SqlRepository


def _grant(row: Any) -> AccessGrant:
    values = row_dict(row)
    values["ciphertext"] = bytes(values["ciphertext"])  # asyncpg may hand back a memoryview
    return AccessGrant(**values)


class SqlAccessRepository(SqlRepository):
    async def add(self, grant: AccessGrant) -> AccessGrant:
        stmt = access_grants.insert().values(
            ticket_id=grant.ticket_id, ciphertext=grant.ciphertext,
            expires_at=grant.expires_at, created_at=grant.created_at,
        ).returning(access_grants.c.id)
        grant.id = (await self._db.execute(stmt)).scalar_one()
        return grant

    async def get_for_ticket(self, ticket_id: int, now: datetime) -> AccessGrant | None:
        c = access_grants.c
        stmt = (select(access_grants).where(c.ticket_id == ticket_id, c.expires_at > now)
                .order_by(c.created_at.desc(), c.id.desc()).limit(1))
        row = (await self._db.execute(stmt)).first()
        return _grant(row) if row else None

    async def delete_for_ticket(self, ticket_id: int) -> int:
        stmt = delete(access_grants).where(access_grants.c.ticket_id == ticket_id).returning(access_grants.c.id)
        return len((await self._db.execute(stmt)).all())

    async def expired(self, now: datetime, limit: int = 100) -> list[AccessGrant]:
        c = access_grants.c
        stmt = select(access_grants).where(c.expires_at <= now).order_by(c.expires_at, c.id).limit(limit)
        return [_grant(r) for r in await self._db.execute(stmt)]

    async def delete(self, grant_id: int) -> None:
        await self._db.execute(delete(access_grants).where(access_grants.c.id == grant_id))
