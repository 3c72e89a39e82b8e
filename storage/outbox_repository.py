"""SQL repository for the outbox: intentions to call a platform, delivered in order per ticket."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, update

from bot.delivery.effects import tie
from bot.delivery.leases import LEASE
from bot.domain import Message, OutboxItem, OutboxStatus, Target, Ticket
from bot.repositories import OutboxRow
from storage import outbox_statements as q
from storage.models import UTCDateTime, messages, outbox, row_dict
from storage.options import DURABLE
from storage.repositories import SqlRepository, message_from_row, message_values
from storage.ticket_repository import ticket_from_row

OUTBOX_CHANNEL = "supportbot_outbox"


def _state(item: OutboxItem) -> dict[str, Any]:
    return {"row_id": item.id, "status": item.status.value, "attempts": item.attempts,
            "next_attempt_at": item.next_attempt_at, "delivered_at": item.delivered_at, "ref": item.ref,
            "last_error": item.last_error, "leased_by": item.leased_by}


_FIELDS = tuple(f.name for f in fields(OutboxItem) if f.name != "id")


def outbox_values(item: OutboxItem) -> dict[str, Any]:
    values = {name: getattr(item, name) for name in _FIELDS}  # the payload as it is: no deep copy
    values["target"] = item.target.value
    values["status"] = item.status.value
    return values


def outbox_from_row(row: Any) -> OutboxItem:
    values = row_dict(row)
    values.pop("left_behind", None)  # the claim's own column, not the row's
    values["target"] = Target(values["target"])
    values["status"] = OutboxStatus(values["status"])
    return OutboxItem(**values)


def _split(mapping: Any, with_context: bool) -> OutboxRow:
    row: dict[str, Any] = {}
    parts: dict[str, dict[str, Any]] = {"t": {}, "m": {}}
    for key, value in mapping.items():
        prefix, _, name = key.partition("__")
        if name and prefix in parts:
            parts[prefix][name] = value
        else:
            row[key] = value
    item = outbox_from_row(row)
    if not with_context:
        return item, None, None
    ticket = ticket_from_row(parts["t"]) if parts["t"]["id"] is not None else None
    message = message_from_row(parts["m"]) if parts["m"]["id"] is not None else None
    return item, ticket, message


class SqlOutboxRepository(SqlRepository):
    def __init__(self, db: Any, lessee: Callable[[Target], str | None] | None = None) -> None:
        super().__init__(db)
        # the targets this transaction added rows for a lease to take: the unit of work wakes the dispatcher for them
        self.added: set[Target] = set()
        # rows written leased to this process's dispatcher (`lessee`): handed to it after the commit
        self.handed: list[OutboxRow] = []
        self._lessee = lessee
        self.left_behind = False

    async def add(self, item: OutboxItem, ticket: Ticket | None = None,
                  message: Message | None = None) -> OutboxItem:
        await self.add_all([(item, ticket, message)])
        return item

    async def add_all(self, rows: Sequence[OutboxRow]) -> None:
        leased: dict[str, list[OutboxRow]] = {}
        for row in rows:
            lessee = self._lessee(row[0].target) if self._lessee is not None else None
            if lessee is None:
                row[0].id = (await self._db.execute(q.ADD, outbox_values(row[0]))).scalar_one()
                await self._added(row[0])
            else:
                leased.setdefault(lessee, []).append(row)
        for lessee, batch in leased.items():
            await self._add_leased(lessee, batch)

    async def add_with_message(self, message: Message, rows: Sequence[OutboxRow]) -> bool:
        """MessageRepository.add_new with `relays`: False for a duplicate, and nothing written."""
        # the message's id comes back on the rows that carry it: one of them must
        assert any(relayed is message for _, _, relayed in rows), "relays are rows that relay the message"
        lessees = {self._lessee(item.target) if self._lessee is not None else None for item, _, _ in rows}
        if self._dialect == "postgresql" and len(lessees) == 1 and (lessee := lessees.pop()) is not None:
            return await self._add_leased(lessee, list(rows), message)  # one round trip
        message.id = await self._insert_new(messages, message_values(message))
        if message.id is None:
            return False
        tie(message, rows)
        await self.add_all(rows)
        return True

    async def _add_leased(self, lessee: str, rows: list[OutboxRow], message: Message | None = None) -> bool:
        """Returns whether the rows were written (with `message`: False when it is a duplicate)."""
        params: dict[str, Any] = {"lessee": lessee}
        for i, (item, _, _) in enumerate(rows):
            values = outbox_values(item)
            params.update({f"{name}_{i}": values[name] for name in q.FIXED})
            params[f"until_{i}"] = item.created_at + LEASE
        relays: tuple[bool, ...] = ()
        if message is not None:
            relays = tuple(relayed is message for _, _, relayed in rows)
            params.update({f"msg_{name}": value for name, value in message_values(message).items()})
        # RETURNING gives the rows in no set order; their ids follow the order they were inserted in
        inserted = sorted((await self._db.execute(q.add_leased_statement(len(rows), relays), params)).all())
        if not inserted:
            return False  # the message was a duplicate
        for i, ((item, ticket, relayed), (row_id, leased_by, message_id)) in enumerate(zip(rows, inserted, strict=True)):
            if relays and relays[i]:
                assert message is not None
                item.message_id = message.id = message_id
            item.id = row_id
            if leased_by is None:
                await self._added(item)
            else:
                item.attempts, item.next_attempt_at, item.leased_by = 1, params[f"until_{i}"], leased_by
                self.handed.append((item, ticket, relayed))
        return True

    async def _added(self, item: OutboxItem) -> None:
        """A row written for a lease to take: the unit of work wakes the dispatcher for it."""
        if self._dialect == "postgresql" and not self.added:
            # delivered at commit, once per transaction (so sent once): wakes the dispatchers of other processes
            await self._db.execute(text(f"NOTIFY {OUTBOX_CHANNEL}"))
        self.added.add(item.target)

    async def has_older_pending(self, item: OutboxItem) -> bool:
        params = {"ticket_id": item.ticket_id, "target": item.target.value, "row_id": item.id}
        return bool((await self._db.execute(q.HAS_OLDER_PENDING, params)).scalar_one())

    async def get(self, item_id: int) -> OutboxItem | None:
        row = (await self._db.execute(select(outbox).where(outbox.c.id == item_id))).first()
        return outbox_from_row(row) if row else None

    async def save(self, item: OutboxItem) -> None:
        assert item.id is not None, "save() needs a stored outbox item"
        stmt = update(outbox).where(outbox.c.id == item.id).values(**outbox_values(item))
        await self._db.execute(stmt)

    async def lease(self, item: OutboxItem) -> None:
        assert item.id is not None, "lease() needs a stored outbox item"
        await self._db.execute(q.SAVE, _state(item))

    async def claim_due(self, now: datetime, limit: int = 50,
                        targets: Collection[Target] | None = None) -> list[OutboxItem]:
        return [item for item, _, _ in await self._claim(now, limit, targets, with_context=False)]

    async def claim_with_context(self, now: datetime, limit: int = 50, targets: Collection[Target] | None = None,
                                 ) -> list[OutboxRow]:
        return await self._claim(now, limit, targets, with_context=True)

    async def _claim(self, now: datetime, limit: int, targets: Collection[Target] | None,
                     with_context: bool) -> list[OutboxRow]:
        params: dict[str, Any] = {"now": now, "limit": limit}
        if targets is not None:
            params["targets"] = [t.value for t in targets]
        stmt = q.CLAIMS[(with_context, targets is not None)]
        rows = list(await self._db.execute(stmt, params))
        self.left_behind = any(row.left_behind for row in rows)
        return [_split(row._mapping, with_context) for row in rows]

    async def settle(self, item: OutboxItem, owner: str) -> bool:
        # a delivered post's ref goes on its message by a trigger, in this statement (migration 0007)
        assert item.id is not None, "settle() needs a stored outbox item"
        item.leased_by = None
        state = _state(item)
        del state["attempts"]
        result = await self._db.execute(q.SETTLE_UNSYNCED if self._unsynced() else q.SETTLE, {**state, "owner": owner})
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def _unsynced(self) -> bool:
        """PostgreSQL in a unit of work that need not be durable (on SQLite its connection does it)."""
        connection = self._db.sync_connection if self._dialect == "postgresql" else None
        return connection is not None and connection.get_execution_options().get(DURABLE) is False

    async def renew(self, ids: Collection[int], owner: str, until: datetime) -> None:
        stmt = (update(outbox)
                .where(outbox.c.id.in_(list(ids)), outbox.c.leased_by == owner, outbox.c.status == q.PENDING)
                .values(next_attempt_at=until))
        await self._db.execute(stmt)

    async def lease_owners(self, now: datetime) -> list[str]:
        stmt = select(outbox.c.leased_by).distinct().where(
            outbox.c.status == q.PENDING, outbox.c.leased_by.is_not(None), outbox.c.next_attempt_at > now)
        return [owner for (owner,) in await self._db.execute(stmt)]

    async def release(self, owner: str, now: datetime) -> int:
        # leased_by stays: the next lease sees the attempt was interrupted (Delivery.interrupted)
        stmt = (update(outbox).where(outbox.c.leased_by == owner, outbox.c.status == q.PENDING)
                .values(next_attempt_at=now))
        return int((await self._db.execute(stmt)).rowcount)  # type: ignore[attr-defined]

    async def next_due_at(self, targets: Collection[Target] | None = None) -> datetime | None:
        """Earliest next_attempt_at of pending rows; a pending row with none counts as due
        since it was created (so a caller sleeping until then wakes at once)."""
        due = func.coalesce(outbox.c.next_attempt_at, outbox.c.created_at)
        stmt = select(func.min(due, type_=UTCDateTime())).where(outbox.c.status == q.PENDING)
        if targets is not None:
            stmt = stmt.where(outbox.c.target.in_([t.value for t in targets]))
        return (await self._db.execute(stmt)).scalar_one()
