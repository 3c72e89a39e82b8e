"""SQL repository for tickets, including the sweeper's claims on due deadlines."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, select, text, update

from bot.domain import CloseReason, Ticket, TicketStatus
from storage.models import DEADLINE_COLUMNS, OPEN_TICKET_SQL, row_dict, tickets
from storage.repositories import SqlRepository

_TICKET_FIELDS = tuple(f.name for f in fields(Ticket) if f.name != "id")
# The same literal predicate as the partial indexes, so the planner can use them.
_IS_OPEN = text(OPEN_TICKET_SQL)


def ticket_values(ticket: Ticket) -> dict[str, Any]:
    values = {name: getattr(ticket, name) for name in _TICKET_FIELDS}
    values["status"] = ticket.status.value
    values["close_reason"] = ticket.close_reason.value if ticket.close_reason else None
    return values


def ticket_from_row(row: Any) -> Ticket:
    values = row_dict(row)
    values["status"] = TicketStatus(values["status"])
    reason = values["close_reason"]
    values["close_reason"] = CloseReason(reason) if reason is not None else None
    return Ticket(**values)


def _in_channels(stmt: Select[Any], channels: Collection[str] | None) -> Select[Any]:
    """A staff member's scope: only tickets of these staff channels (None: every channel)."""
    return stmt if channels is None else stmt.where(tickets.c.staff_channel.in_(sorted(channels)))


class SqlTicketRepository(SqlRepository):
    async def add(self, ticket: Ticket) -> Ticket:
        stmt = tickets.insert().values(**ticket_values(ticket)).returning(tickets.c.id)
        ticket.id = (await self._session.execute(stmt)).scalar_one()
        return ticket

    async def get(self, ticket_id: int) -> Ticket | None:
        return await self._one(select(tickets).where(tickets.c.id == ticket_id))

    async def get_for_update(self, ticket_id: int) -> Ticket | None:
        # SQLite renders no FOR UPDATE; BEGIN IMMEDIATE already serializes writers there.
        return await self._one(select(tickets).where(tickets.c.id == ticket_id).with_for_update())

    async def save(self, ticket: Ticket) -> None:
        assert ticket.id is not None, "save() needs a stored ticket"
        stmt = update(tickets).where(tickets.c.id == ticket.id).values(**ticket_values(ticket))
        await self._session.execute(stmt)

    async def set_ref(self, ticket_id: int, column: str, ref: str) -> None:
        if column not in ("customer_thread_ref", "staff_thread_ref"):
            raise ValueError(f"not a reference column: {column!r}")
        await self._session.execute(update(tickets).where(tickets.c.id == ticket_id).values({column: ref}))

    async def open_for_account(self, account_id: int) -> list[Ticket]:
        stmt = select(tickets).where(tickets.c.account_id == account_id, _IS_OPEN).order_by(tickets.c.id)
        return await self._all(stmt)

    async def for_account(self, account_id: int, limit: int = 25) -> list[Ticket]:
        stmt = (
            select(tickets)
            .where(tickets.c.account_id == account_id)
            .order_by(tickets.c.id.desc())
            .limit(limit)
        )
        return await self._all(stmt)

    async def by_customer_thread(self, ref: str) -> Ticket | None:
        return await self._one(select(tickets).where(tickets.c.customer_thread_ref == ref).limit(1))

    async def by_staff_thread(self, ref: str) -> Ticket | None:
        return await self._one(select(tickets).where(tickets.c.staff_thread_ref == ref).limit(1))

    async def list_open(self, channels: Collection[str] | None = None) -> list[Ticket]:
        return await self._all(_in_channels(select(tickets).where(_IS_OPEN), channels).order_by(tickets.c.id))

    async def opened_between(self, start: datetime, end: datetime,
                             channels: Collection[str] | None = None) -> list[Ticket]:
        """Tickets opened in [start, end)."""
        return await self._between(tickets.c.opened_at, start, end, channels)

    async def closed_between(self, start: datetime, end: datetime,
                             channels: Collection[str] | None = None) -> list[Ticket]:
        """Tickets closed in [start, end)."""
        return await self._between(tickets.c.closed_at, start, end, channels)

    async def claim_due(self, column: str, now: datetime, limit: int = 100) -> list[Ticket]:
        if column not in DEADLINE_COLUMNS:
            raise ValueError(f"not a deadline column: {column!r}")
        return await self._claim(tickets.c[column], now, limit)

    async def _claim(self, column: ColumnElement[datetime], now: datetime, limit: int) -> list[Ticket]:
        stmt = (
            select(tickets)
            .where(_IS_OPEN, column <= now)
            .order_by(column)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return await self._all(stmt)

    async def _between(self, column: ColumnElement[Any], start: datetime, end: datetime,
                       channels: Collection[str] | None) -> list[Ticket]:
        stmt = _in_channels(select(tickets).where(column >= start, column < end), channels)
        return await self._all(stmt.order_by(column, tickets.c.id))

    async def _one(self, stmt: Select[Any]) -> Ticket | None:
        row = (await self._session.execute(stmt)).first()
        return ticket_from_row(row) if row else None

    async def _all(self, stmt: Select[Any]) -> list[Ticket]:
        return [ticket_from_row(r) for r in await self._session.execute(stmt)]
