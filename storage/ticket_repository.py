"""SQL repository for tickets, including the sweeper's claims on due deadlines."""

from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, TextClause, bindparam, case, func, select, text, update

from bot.domain import CloseReason, Ticket, TicketStatus
from bot.repositories import TicketStats, UnmeasuredAnswer
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


def _scope(channels: Collection[str] | None) -> list[ColumnElement[bool]]:
    """A staff member's scope: only tickets of these staff channels (None: every channel)."""
    return [] if channels is None else [tickets.c.staff_channel.in_(sorted(channels))]


def _in_channels(stmt: Select[Any], channels: Collection[str] | None) -> Select[Any]:
    return stmt.where(*_scope(channels))


# The lookups of the relay path, built once (building one cost about what running it did).
_BY_ID = select(tickets).where(tickets.c.id == bindparam("key"))
_BY_ID_LOCKED = _BY_ID.with_for_update()
_BY_THREAD = {(column, lock): (stmt.with_for_update() if lock else stmt)
              for column in ("customer_thread_ref", "staff_thread_ref") for lock in (False, True)
              for stmt in [select(tickets).where(tickets.c[column] == bindparam("key")).limit(1)]}
_OPEN_FOR_ACCOUNT = select(tickets).where(tickets.c.account_id == bindparam("key"), _IS_OPEN).order_by(tickets.c.id)


@functools.cache
def _narrow_update(columns: tuple[str, ...]) -> Any:
    """UPDATE of these columns of one ticket; one statement per set of columns, built once."""
    return update(tickets).where(tickets.c.id == bindparam("row_id")).values(
        {name: bindparam(name) for name in columns})


class SqlTicketRepository(SqlRepository):
    def __init__(self, db: Any) -> None:
        super().__init__(db)
        # each ticket's values as this transaction read or last wrote them: save() writes only
        # what changed since (a narrow update, or none), not the whole row
        self._seen: dict[int, dict[str, Any]] = {}
        # tickets this transaction holds locked (read FOR UPDATE): current until it ends
        self._locked: set[int] = set()

    async def add(self, ticket: Ticket) -> Ticket:
        values = ticket_values(ticket)
        stmt = tickets.insert().values(**values).returning(tickets.c.id)
        ticket.id = (await self._db.execute(stmt)).scalar_one()
        self._seen[ticket.id] = values
        return ticket

    async def get(self, ticket_id: int) -> Ticket | None:
        return await self._one(_BY_ID, ticket_id)

    async def get_for_update(self, ticket_id: int) -> Ticket | None:
        # SQLite renders no FOR UPDATE; BEGIN IMMEDIATE already serializes writers there, so
        # a ticket this transaction has read is current, as is one it locked on PostgreSQL:
        # no second round trip for it
        current = self._dialect == "sqlite" or ticket_id in self._locked
        if current and (seen := self._seen.get(ticket_id)) is not None:
            return ticket_from_row({**seen, "id": ticket_id})
        return await self._one(_BY_ID_LOCKED, ticket_id, lock=True)

    async def save(self, ticket: Ticket) -> None:
        assert ticket.id is not None, "save() needs a stored ticket"
        values = ticket_values(ticket)
        seen = self._seen.get(ticket.id)
        changed = values if seen is None else {k: v for k, v in values.items() if seen[k] != v}
        if changed:
            await self._db.execute(_narrow_update(tuple(changed)), {**changed, "row_id": ticket.id})
        self._seen[ticket.id] = values

    async def set_ref(self, ticket_id: int, column: str, ref: str) -> None:
        if column not in ("customer_thread_ref", "staff_thread_ref"):
            raise ValueError(f"not a reference column: {column!r}")
        await self._db.execute(update(tickets).where(tickets.c.id == ticket_id).values({column: ref}))
        if (seen := self._seen.get(ticket_id)) is not None:
            seen[column] = ref

    async def open_for_account(self, account_id: int) -> list[Ticket]:
        return await self._all(_OPEN_FOR_ACCOUNT, account_id)

    async def for_account(self, account_id: int, limit: int = 25) -> list[Ticket]:
        stmt = (
            select(tickets)
            .where(tickets.c.account_id == account_id)
            .order_by(tickets.c.id.desc())
            .limit(limit)
        )
        return await self._all(stmt)

    async def by_customer_thread(self, ref: str, lock: bool = False) -> Ticket | None:
        return await self._one(_BY_THREAD["customer_thread_ref", lock], ref, lock)

    async def by_staff_thread(self, ref: str, lock: bool = False) -> Ticket | None:
        return await self._one(_BY_THREAD["staff_thread_ref", lock], ref, lock)

    async def list_open(self, channels: Collection[str] | None = None) -> list[Ticket]:
        return await self._all(_in_channels(select(tickets).where(_IS_OPEN), channels).order_by(tickets.c.id))

    async def open_page(self, limit: int, *, assignee: str | None = None,
                        channels: Collection[str] | None = None) -> list[Ticket]:
        """Open tickets, nearest answer deadline first (id breaks ties), those without one after;
        read in index order (ix_tickets_open_sla_due_at, ix_tickets_open_undated, or for one assignee
        ix_tickets_open_assignee), never by sorting every open ticket."""
        where = self._open_filter(assignee, channels)
        due = tickets.c.sla_due_at
        dated = await self._all(select(tickets).where(*where, due.is_not(None))
                                .order_by(due, tickets.c.id).limit(limit))
        if len(dated) >= limit:
            return dated
        undated = await self._all(select(tickets).where(*where, due.is_(None))
                                  .order_by(tickets.c.id).limit(limit - len(dated)))
        return dated + undated

    async def count_open(self, *, assignee: str | None = None, channels: Collection[str] | None = None) -> int:
        where, due = self._open_filter(assignee, channels), tickets.c.sla_due_at
        # counted in two parts, each matching a partial index, so neither walks the closed tickets
        parts = [select(func.count()).select_from(tickets).where(*where, part).scalar_subquery()
                 for part in (due.is_not(None), due.is_(None))]
        return int((await self._db.execute(select(parts[0] + parts[1]))).scalar_one())

    @staticmethod
    def _open_filter(assignee: str | None,
                     channels: Collection[str] | None) -> list[ColumnElement[bool] | TextClause]:
        """The WHERE terms of the open-ticket lists; one more keyword per filter."""
        where: list[ColumnElement[bool] | TextClause] = [_IS_OPEN]
        if assignee is not None:
            where.append(tickets.c.assignee == assignee)
        return where + _scope(channels)

    async def stats_between(self, start: datetime, end: datetime, promise_s: float,
                            channels: Collection[str] | None = None) -> list[TicketStats]:
        """Per product: tickets opened in [start, end) (answered, their first-answer working time,
        answered within `promise_s`) and closed in it; aggregated by the database."""
        c, work = tickets.c, tickets.c.first_response_work_s
        opened_stmt = (
            select(c.product, func.count(), func.count(work), func.coalesce(func.sum(work), 0.0),
                   func.coalesce(func.sum(case((work <= promise_s, 1), else_=0)), 0))
            .where(c.opened_at >= start, c.opened_at < end, *_scope(channels))
            .group_by(c.product)
        )
        closed_stmt = (select(c.product, func.count()).where(c.closed_at >= start, c.closed_at < end, *_scope(channels))
                       .group_by(c.product))
        stats: dict[str, TicketStats] = {}
        for product, opened, answered, work_total, within in await self._db.execute(opened_stmt):
            stats[product] = TicketStats(product, opened=opened, answered=answered,
                                         answer_work_s=float(work_total), answered_within=int(within))
        for product, closed in await self._db.execute(closed_stmt):
            stats.setdefault(product, TicketStats(product)).closed = closed
        return [stats[p] for p in sorted(stats)]

    async def unmeasured_answers(self, start: datetime, end: datetime,
                                 channels: Collection[str] | None = None) -> list[UnmeasuredAnswer]:
        """Tickets opened in [start, end), answered before first_response_work_s existed."""
        c = tickets.c
        stmt = select(c.product, c.opened_at, c.first_response_at).where(
            c.opened_at >= start, c.opened_at < end, c.first_response_work_s.is_(None),
            c.first_response_at.is_not(None), *_scope(channels))
        return [UnmeasuredAnswer(*row) for row in await self._db.execute(stmt)]

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

    async def _one(self, stmt: Select[Any], key: Any = None, lock: bool = False) -> Ticket | None:
        row = (await self._db.execute(stmt, None if key is None else {"key": key})).first()
        if row is None:
            return None
        if lock:
            self._locked.add(row.id)
        return self._remember(ticket_from_row(row))

    async def _all(self, stmt: Select[Any], key: Any = None) -> list[Ticket]:
        rows = await self._db.execute(stmt, None if key is None else {"key": key})
        return [self._remember(ticket_from_row(r)) for r in rows]

    def _remember(self, ticket: Ticket) -> Ticket:
        assert ticket.id is not None
        self._seen[ticket.id] = ticket_values(ticket)
        return ticket
