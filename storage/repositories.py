"""SQL repositories for accounts, identities, licences, messages, idempotency and audit.

Tickets and the outbox live in ticket_repository.py and outbox_repository.py.
Queries go through SQLAlchemy Core on the unit of work's connection: rows are converted
to the plain domain dataclasses explicitly, so no ORM state leaks out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain import (
    Account,
    Attachment,
    AuditEntry,
    Identity,
    Licence,
    Message,
    MessageKind,
)
from bot.repositories import OutboxRow
from storage.models import (
    accounts,
    audit_log,
    desk_ledger,
    identities,
    licences,
    link_attempts,
    messages,
    processed_events,
    reminder_ledger,
    row_dict,
)


class SqlRepository:
    """Base: a repository bound to one connection (one transaction)."""

    def __init__(self, db: AsyncConnection) -> None:
        self._db = db
        self._dialect = db.dialect.name

    def _upsert(self, table: Table) -> Any:
        """INSERT with the dialect's ON CONFLICT support."""
        return pg_insert(table) if self._dialect == "postgresql" else sqlite_insert(table)

    async def _insert_if_absent(self, table: Table, values: dict[str, Any]) -> bool:
        """Insert unless a unique key exists; True if inserted. Never raises on a
        duplicate, so the surrounding transaction stays usable."""
        return await self._insert_new(table, values) is not None

    async def _insert_new(self, table: Table, values: dict[str, Any]) -> Any:
        """As _insert_if_absent; the new row's first primary key column, None for a duplicate."""
        key = (table.name, self._dialect)
        if (stmt := _IF_ABSENT.get(key)) is None:  # built once: on the hot path of every message
            first_key_column = next(iter(table.primary_key.columns))
            stmt = _IF_ABSENT[key] = self._upsert(table).on_conflict_do_nothing().returning(first_key_column)
        return (await self._db.execute(stmt, values)).scalar_one_or_none()


class SqlAccountRepository(SqlRepository):
    async def get(self, account_id: int) -> Account | None:
        row = (await self._db.execute(select(accounts).where(accounts.c.id == account_id))).first()
        return Account(**row_dict(row)) if row else None

    async def get_or_create(self, email: str) -> Account:
        await self._db.execute(self._upsert(accounts).values(email=email).on_conflict_do_nothing())
        row = (await self._db.execute(select(accounts).where(accounts.c.email == email))).one()
        return Account(**row_dict(row))

    async def lock(self, account_id: int) -> None:
        # SQLite ignores FOR UPDATE; its BEGIN IMMEDIATE already serialises writers
        await self._db.execute(select(accounts.c.id).where(accounts.c.id == account_id).with_for_update())


_IDENTITY = select(identities).where(identities.c.platform == bindparam("platform"),
                                     identities.c.user_id == bindparam("user_id"))


class SqlIdentityRepository(SqlRepository):
    async def get(self, platform: str, user_id: str) -> Identity | None:
        row = (await self._db.execute(_IDENTITY, {"platform": platform, "user_id": user_id})).first()
        if row is None:
            return None
        values = row_dict(row)
        del values["id"]
        return Identity(**values)

    async def for_account(self, account_id: int) -> list[Identity]:
        stmt = select(identities).where(identities.c.account_id == account_id).order_by(
            identities.c.linked_at, identities.c.id)
        return [Identity(**{k: v for k, v in row_dict(r).items() if k != "id"})
                for r in await self._db.execute(stmt)]

    async def save(self, identity: Identity) -> None:
        values = asdict(identity)
        stmt = self._upsert(identities).values(**values)
        changed = {k: stmt.excluded[k] for k in ("account_id", "display_name", "locale", "linked_at")}
        await self._db.execute(
            stmt.on_conflict_do_update(index_elements=["platform", "user_id"], set_=changed)
        )


class SqlLinkAttemptRepository(SqlRepository):
    async def add(self, platform: str, user_id: str, at: datetime) -> None:
        await self._db.execute(link_attempts.insert().values(platform=platform, user_id=user_id, at=at))

    async def since(self, platform: str, user_id: str, since: datetime) -> list[datetime]:
        c = link_attempts.c
        stmt = (
            select(c.at)
            .where(c.platform == platform, c.user_id == user_id, c.at >= since)
            .order_by(c.at, c.id)
        )
        return list((await self._db.execute(stmt)).scalars())


class SqlLicenceRepository(SqlRepository):
    async def get(self, key: str) -> Licence | None:
        """By key, whatever its case (customers retype keys; the export's case is not theirs).
        An exact match wins over one differing in case only."""
        stmt = (select(licences).where(func.lower(licences.c.key) == key.lower())
                .order_by((licences.c.key != key), licences.c.key).limit(1))
        row = (await self._db.execute(stmt)).first()
        return Licence(**row_dict(row)) if row else None

    async def for_email(self, email: str) -> list[Licence]:
        stmt = select(licences).where(licences.c.email == email).order_by(licences.c.expires_at)
        return [Licence(**row_dict(r)) for r in await self._db.execute(stmt)]

    async def upsert(self, licence: Licence) -> None:
        stmt = self._upsert(licences).values(**asdict(licence))
        changed = {k: stmt.excluded[k] for k in ("email", "product", "expires_at")}
        await self._db.execute(stmt.on_conflict_do_update(index_elements=["key"], set_=changed))


class SqlProcessedEventRepository(SqlRepository):
    async def first_time(self, platform: str, event_id: str, at: datetime) -> bool:
        values = {"platform": platform, "event_id": event_id, "at": at}
        return await self._insert_if_absent(processed_events, values)


class SqlReminderLedger(SqlRepository):
    async def record(self, ticket_id: int, kind: str, period: int, at: datetime) -> bool:
        values = {"ticket_id": ticket_id, "kind": kind, "period": period, "at": at}
        return await self._insert_if_absent(reminder_ledger, values)

    async def record_desk(self, kind: str, period: int, at: datetime) -> bool:
        return await self._insert_if_absent(desk_ledger, {"kind": kind, "period": period, "at": at})


class SqlAuditRepository(SqlRepository):
    async def add(self, entry: AuditEntry) -> None:
        await self._db.execute(audit_log.insert().values(**asdict(entry)))

    async def for_ticket(self, ticket_id: int) -> list[AuditEntry]:
        stmt = select(audit_log).where(audit_log.c.ticket_id == ticket_id).order_by(audit_log.c.id)
        result = await self._db.execute(stmt)
        return [AuditEntry(**{k: v for k, v in row_dict(r).items() if k != "id"}) for r in result]


# --- messages ------------------------------------------------------------------------

AUTHORED_ON = {"customer": (MessageKind.CUSTOMER,), "staff": (MessageKind.STAFF, MessageKind.NOTE)}
_MESSAGE_REF_COLUMNS = {"customer": messages.c.customer_ref, "staff": messages.c.staff_ref}


_MESSAGE_FIELDS = tuple(f.name for f in fields(Message) if f.name != "id")


def message_values(message: Message) -> dict[str, Any]:
    values = {name: getattr(message, name) for name in _MESSAGE_FIELDS}  # asdict would deep-copy
    values["kind"] = message.kind.value
    values["attachments"] = [asdict(a) for a in message.attachments]
    return values


def message_from_row(row: Any) -> Message:
    values = row_dict(row)
    values["kind"] = MessageKind(values["kind"])
    values["attachments"] = tuple(Attachment(**a) for a in values["attachments"])
    return Message(**values)


# statements of every relayed message, built once (building one costs about what running it does)
_IF_ABSENT: dict[tuple[str, str], Any] = {}
_ADD_MESSAGE = messages.insert().returning(messages.c.id)


class SqlMessageRepository(SqlRepository):
    def __init__(self, db: Any, relay: Callable[[Message, Sequence[OutboxRow]], Awaitable[bool]] | None = None) -> None:
        super().__init__(db)
        self._relay = relay  # the unit of work's outbox: SqlOutboxRepository.add_with_message

    async def add(self, message: Message) -> Message:
        message.id = (await self._db.execute(_ADD_MESSAGE, message_values(message))).scalar_one()
        return message

    async def add_new(self, message: Message, relays: Sequence[OutboxRow] = ()) -> Message | None:
        if relays:
            assert self._relay is not None, "relays need the unit of work's outbox"
            return message if await self._relay(message, relays) else None
        # the unique indexes on the author's ref (migration 0008) say whether it is a duplicate
        message.id = await self._insert_new(messages, message_values(message))
        return message if message.id is not None else None

    async def get(self, message_id: int) -> Message | None:
        row = (await self._db.execute(select(messages).where(messages.c.id == message_id))).first()
        return message_from_row(row) if row else None

    async def save(self, message: Message) -> None:
        assert message.id is not None, "save() needs a stored message"
        stmt = update(messages).where(messages.c.id == message.id).values(**message_values(message))
        await self._db.execute(stmt)

    async def by_ref(self, side: str, ref: str) -> Message | None:
        column = _MESSAGE_REF_COLUMNS.get(side)
        if column is None:
            raise ValueError(f"side must be 'customer' or 'staff', not {side!r}")
        stmt = select(messages).where(column == ref).order_by(messages.c.id).limit(1)
        row = (await self._db.execute(stmt)).first()
        return message_from_row(row) if row else None

    async def authored_refs(self, ticket_ids: Collection[int], side: str) -> dict[int, list[tuple[str, datetime]]]:
        column = _MESSAGE_REF_COLUMNS[side]
        found: dict[int, list[tuple[str, datetime]]] = {}
        ids = list(ticket_ids)
        for start in range(0, len(ids), 500):  # bounded IN lists
            stmt = select(messages.c.ticket_id, column, messages.c.created_at).where(
                messages.c.ticket_id.in_(ids[start:start + 500]), column.is_not(None),
                messages.c.kind.in_([k.value for k in AUTHORED_ON[side]]))
            for ticket_id, ref, stored in await self._db.execute(stmt):
                found.setdefault(ticket_id, []).append((ref, stored))
        return found

    async def for_ticket(self, ticket_id: int, limit: int = 50) -> list[Message]:
        stmt = (
            select(messages)
            .where(messages.c.ticket_id == ticket_id)
            .order_by(messages.c.id.desc())
            .limit(limit)
        )
        newest_first = [message_from_row(r) for r in await self._db.execute(stmt)]
        return newest_first[::-1]
