"""SQL repository for the outbox: intentions to call a platform, delivered in order per ticket."""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnClause,
    Integer,
    String,
    bindparam,
    case,
    exists,
    func,
    literal_column,
    null,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql

from bot.delivery.effects import tie
from bot.delivery.leases import LEASE
from bot.domain import Message, OutboxItem, OutboxStatus, Target, Ticket
from bot.repositories import OutboxRow
from storage.models import UTCDateTime, messages, outbox, row_dict, tickets
from storage.options import DURABLE
from storage.repositories import SqlRepository, message_from_row, message_values
from storage.ticket_repository import ticket_from_row

OUTBOX_CHANNEL = "supportbot_outbox"

# Inline literal rather than a bind parameter: lets the planner match the status index.
_PENDING: ColumnClause[str] = literal_column(f"'{OutboxStatus.PENDING.value}'", String())


# What delivery changes on a row; the rest (target, action, payload, links) is fixed at insert,
# so writes after it are narrow: no payload JSON sent again, and one prebuilt statement each.
_STATE = ("status", "attempts", "next_attempt_at", "delivered_at", "ref", "last_error", "leased_by")
_SAVE = update(outbox).where(outbox.c.id == bindparam("row_id")).values(
    {name: bindparam(name) for name in _STATE})
# settle: only while `owner` holds the lease; attempts was counted when the row was leased
_SETTLE = update(outbox).where(outbox.c.id == bindparam("row_id"), outbox.c.leased_by == bindparam("owner")).values(
    {name: bindparam(name) for name in _STATE if name != "attempts"})
# PostgreSQL, in a unit of work that need not be durable: the commit does not wait for the disk,
# set by the statement itself for its transaction (no round trip of its own)
_SETTLE_UNSYNCED = _SETTLE.where(func.set_config("synchronous_commit", "off", True) == "off")


def _state(item: OutboxItem) -> dict[str, Any]:
    return {"row_id": item.id, "status": item.status.value, "attempts": item.attempts,
            "next_attempt_at": item.next_attempt_at, "delivered_at": item.delivered_at, "ref": item.ref,
            "last_error": item.last_error, "leased_by": item.leased_by}


def _claim_statement(with_context: bool, by_target: bool) -> Any:
    """The claim, built once per shape: building it (two subqueries, a label per column of three
    tables) cost more CPU than running it; bound parameters carry what changes."""
    older, newer = outbox.alias("older"), outbox.alias("newer")
    # A row waits while an older row of its ticket and target is pending (due or not),
    # which keeps order per ticket and destination; rows without a ticket go independently.
    has_older_pending = exists().where(
        older.c.ticket_id == outbox.c.ticket_id,
        older.c.target == outbox.c.target,
        older.c.status == _PENDING,
        older.c.id < outbox.c.id,
    )
    # and whether one waits behind it: then the dispatcher looks again after this batch
    has_newer_pending = exists().where(
        newer.c.ticket_id == outbox.c.ticket_id,
        newer.c.target == outbox.c.target,
        newer.c.status == _PENDING,
        newer.c.id > outbox.c.id,
    ).label("left_behind")
    columns: list[Any] = [outbox, has_newer_pending]
    source: Any = outbox
    if with_context:  # the row's ticket and message in the same round trip (by primary key)
        columns += [c.label(f"t__{c.name}") for c in tickets.c] + [c.label(f"m__{c.name}") for c in messages.c]
        source = outbox.outerjoin(tickets, tickets.c.id == outbox.c.ticket_id).outerjoin(
            messages, messages.c.id == outbox.c.message_id)
    now = bindparam("now", type_=UTCDateTime())
    return (
        select(*columns)
        .select_from(source)
        .where(
            outbox.c.status == _PENDING,
            or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= now),
            ~has_older_pending,
            *([outbox.c.target.in_(bindparam("targets", expanding=True))] if by_target else []),
        )
        .order_by(outbox.c.id)
        .limit(bindparam("limit", type_=Integer()))
        .with_for_update(skip_locked=True, of=outbox)
    )


_ADD = outbox.insert().returning(outbox.c.id)


_FIXED = ("target", "action", "payload", "created_at", "ticket_id", "message_id", "status", "delivered_at", "ref",
          "last_error")


@functools.cache
def _add_leased_statement(rows: int, relays: tuple[bool, ...] = ()) -> Any:
    """Insert `rows` rows, each leased to `lessee` until its `until`, unless an older row of its
    ticket and target is pending and not in the lessee's hands (waiting, retrying, or another
    process's): then as any row, due now, for a lease to take in order. Rows the lessee holds it
    delivers in order itself (bot/delivery/new_rows.py, the hand-off). One statement: the rows
    of a use case (a post and its card update) are checked against what was there before it, as
    they would be one by one (a row after a leased one of its ticket is leased too, after a
    waiting one it waits), and inserted in order. Parameters: `lessee`, and NAME_i for row i.
    With `relays` (PostgreSQL), the message the rows relay is inserted first, in the same
    statement (MSG_NAME parameters), unless its platform ref is stored (then no row is either);
    row i takes its id when relays[i]."""
    lessee = bindparam("lessee", type_=String())
    message = _insert_message() if relays else None

    def value(name: str, i: int) -> Any:
        if message is not None and name == "message_id" and relays[i]:
            return message.c.id
        return bindparam(f"{name}_{i}", type_=outbox.c[name].type)

    new = union_all(*[select(literal_column(str(i)).label("ord"), *[value(name, i).label(name) for name in _FIXED],
                             bindparam(f"until_{i}", type_=UTCDateTime()).label("until"))
                      .select_from(*([message] if message is not None else []))
                      for i in range(rows)]).subquery("new")
    older = outbox.alias("older")
    busy = exists().where(older.c.ticket_id == new.c.ticket_id, older.c.target == new.c.target,
                          older.c.status == _PENDING, or_(older.c.leased_by.is_(None), older.c.leased_by != lessee))
    checked = select(new, busy.label("busy")).subquery("checked")  # the check evaluated once a row

    def unless_busy(value: Any, otherwise: Any) -> Any:
        return case((checked.c.busy, otherwise), else_=value)

    values: dict[str, Any] = {name: checked.c[name] for name in _FIXED}
    values["attempts"] = unless_busy(1, 0)
    values["next_attempt_at"] = unless_busy(checked.c.until, null())
    values["leased_by"] = unless_busy(lessee, null())
    return (outbox.insert().from_select(list(values), select(*values.values()).order_by(checked.c.ord))
            .returning(outbox.c.id, outbox.c.leased_by, outbox.c.message_id))


def _insert_message() -> Any:
    """The message a relay's rows carry, as a data-modifying CTE (PostgreSQL): its id, or no row
    when its platform ref is stored (the unique indexes of migration 0008)."""
    columns = [c for c in messages.c if c.name != "id"]
    return (postgresql.insert(messages).values({c.name: bindparam(f"msg_{c.name}", type_=c.type) for c in columns})
            .on_conflict_do_nothing().returning(messages.c.id).cte("relayed"))


_OLDER = outbox.alias("older")
_HAS_OLDER_PENDING = select(exists().where(
    _OLDER.c.ticket_id == bindparam("ticket_id"), _OLDER.c.target == bindparam("target"),
    _OLDER.c.status == _PENDING, _OLDER.c.id < bindparam("row_id")))

# (with the ticket and message, filtered by target) -> the claim
_CLAIMS = {(context, by_target): _claim_statement(context, by_target)
           for context in (False, True) for by_target in (False, True)}


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
                row[0].id = (await self._db.execute(_ADD, outbox_values(row[0]))).scalar_one()
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
            params.update({f"{name}_{i}": values[name] for name in _FIXED})
            params[f"until_{i}"] = item.created_at + LEASE
        relays: tuple[bool, ...] = ()
        if message is not None:
            relays = tuple(relayed is message for _, _, relayed in rows)
            params.update({f"msg_{name}": value for name, value in message_values(message).items()})
        # RETURNING gives the rows in no set order; their ids follow the order they were inserted in
        inserted = sorted((await self._db.execute(_add_leased_statement(len(rows), relays), params)).all())
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
        return bool((await self._db.execute(_HAS_OLDER_PENDING, params)).scalar_one())

    async def get(self, item_id: int) -> OutboxItem | None:
        row = (await self._db.execute(select(outbox).where(outbox.c.id == item_id))).first()
        return outbox_from_row(row) if row else None

    async def save(self, item: OutboxItem) -> None:
        assert item.id is not None, "save() needs a stored outbox item"
        stmt = update(outbox).where(outbox.c.id == item.id).values(**outbox_values(item))
        await self._db.execute(stmt)

    async def lease(self, item: OutboxItem) -> None:
        assert item.id is not None, "lease() needs a stored outbox item"
        await self._db.execute(_SAVE, _state(item))

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
        stmt = _CLAIMS[(with_context, targets is not None)]
        rows = list(await self._db.execute(stmt, params))
        self.left_behind = any(row.left_behind for row in rows)
        return [_split(row._mapping, with_context) for row in rows]

    async def settle(self, item: OutboxItem, owner: str) -> bool:
        # a delivered post's ref goes on its message by a trigger, in this statement (migration 0007)
        assert item.id is not None, "settle() needs a stored outbox item"
        item.leased_by = None
        state = _state(item)
        del state["attempts"]
        result = await self._db.execute(_SETTLE_UNSYNCED if self._unsynced() else _SETTLE, {**state, "owner": owner})
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def _unsynced(self) -> bool:
        """PostgreSQL in a unit of work that need not be durable (on SQLite its connection does it)."""
        connection = self._db.sync_connection if self._dialect == "postgresql" else None
        return connection is not None and connection.get_execution_options().get(DURABLE) is False

    async def renew(self, ids: Collection[int], owner: str, until: datetime) -> None:
        stmt = (update(outbox)
                .where(outbox.c.id.in_(list(ids)), outbox.c.leased_by == owner, outbox.c.status == _PENDING)
                .values(next_attempt_at=until))
        await self._db.execute(stmt)

    async def lease_owners(self, now: datetime) -> list[str]:
        stmt = select(outbox.c.leased_by).distinct().where(
            outbox.c.status == _PENDING, outbox.c.leased_by.is_not(None), outbox.c.next_attempt_at > now)
        return [owner for (owner,) in await self._db.execute(stmt)]

    async def release(self, owner: str, now: datetime) -> int:
        # leased_by stays: the next lease sees the attempt was interrupted (Delivery.interrupted)
        stmt = (update(outbox).where(outbox.c.leased_by == owner, outbox.c.status == _PENDING)
                .values(next_attempt_at=now))
        return int((await self._db.execute(stmt)).rowcount)  # type: ignore[attr-defined]

    async def next_due_at(self, targets: Collection[Target] | None = None) -> datetime | None:
        """Earliest next_attempt_at of pending rows; a pending row with none counts as due
        since it was created (so a caller sleeping until then wakes at once)."""
        due = func.coalesce(outbox.c.next_attempt_at, outbox.c.created_at)
        stmt = select(func.min(due, type_=UTCDateTime())).where(outbox.c.status == _PENDING)
        if targets is not None:
            stmt = stmt.where(outbox.c.target.in_([t.value for t in targets]))
        return (await self._db.execute(stmt)).scalar_one()
