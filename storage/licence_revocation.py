"""Revoking a licence (a refund): it expires now, and the open tickets it covered are checked
again at once, so the sweep treats them as it treats an expiry (closed, or staff warned)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.models import licences, tickets


async def revoke_licence(engine: AsyncEngine, key: str, email: str, product: str, now: datetime) -> int:
    """Expire the stored licence `key` (if stored here) and re-check the customer's open tickets
    for `product`; returns how many open tickets will be re-checked."""
    async with engine.begin() as conn:
        await conn.execute(update(licences).where(licences.c.key == key).values(expires_at=now))
        result = await conn.execute(
            update(tickets).where(func.lower(tickets.c.customer_email) == email.lower(),
                                  tickets.c.product == product, tickets.c.status != "closed")
            .values(licence_check_at=now, licence_expires_at=now))
        return int(result.rowcount or 0)
