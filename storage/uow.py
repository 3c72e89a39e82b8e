"""The SQL unit of work: one connection, one transaction, the repositories bound to it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextvars import ContextVar, Token
from copy import copy
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.delivery.new_rows import NewRows
from bot.domain import Message, OutboxItem, Target, Ticket
from bot.ports import Delivery, UnitOfWork, UnitOfWorkFactory
from bot.repositories import (
    AccessRepository,
    AccountRepository,
    AuditRepository,
    HousekeepingRepository,
    IdentityRepository,
    LicenceRepository,
    LinkAttemptRepository,
    MessageRepository,
    OutboxRepository,
    ProcessedEventRepository,
    RatingRepository,
    ReminderLedger,
    TicketRepository,
)
from storage.access_repository import SqlAccessRepository
from storage.housekeeping_repository import SqlHousekeeping
from storage.options import DURABLE
from storage.outbox_repository import SqlOutboxRepository
from storage.rating_repository import SqlRatingRepository
from storage.repositories import (
    SqlAccountRepository,
    SqlAuditRepository,
    SqlIdentityRepository,
    SqlLicenceRepository,
    SqlLinkAttemptRepository,
    SqlMessageRepository,
    SqlProcessedEventRepository,
    SqlReminderLedger,
)
from storage.sqlite_loop import LoopConnection
from storage.ticket_repository import SqlTicketRepository

# whether this task is inside a unit of work that holds the process's SQLite turn
_holding_turn: ContextVar[bool] = ContextVar("holding_sqlite_turn", default=False)


class SqlUnitOfWork:
    """`async with uow:` opens a connection; commit() commits (then hands the outbox rows it wrote
    leased to `hand_off`, and calls `on_commit` with the targets of the others, if it added any);
    leaving the block without commit rolls back."""

    accounts: AccountRepository
    identities: IdentityRepository
    link_attempts: LinkAttemptRepository
    licences: LicenceRepository
    tickets: TicketRepository
    messages: MessageRepository
    outbox: OutboxRepository
    events: ProcessedEventRepository
    reminders: ReminderLedger
    audit: AuditRepository
    access: AccessRepository
    ratings: RatingRepository
    housekeeping: HousekeepingRepository

    def __init__(
        self,
        connect: Callable[[], AsyncConnection],
        on_commit: Callable[[set[Target]], None] | None = None,
        turn: asyncio.Lock | None = None,
        hand_off: NewRows | None = None,
        autocommit: bool = False,
        durable: bool = True,
        early_hand_off: bool = False,
    ) -> None:
        self._connect = connect
        self._options: dict[str, object] = {}
        if autocommit:
            self._options["isolation_level"] = "AUTOCOMMIT"
        if not durable:
            self._options[DURABLE] = False
        self._on_commit = on_commit
        self._hand_off = hand_off
        self._early_hand_off = early_hand_off
        self._turn = turn
        self._held: Token[bool] | None = None
        self._db: AsyncConnection | None = None

    async def __aenter__(self) -> Self:
        if self._turn is not None:
            if _holding_turn.get():  # would wait for itself forever: say so instead
                raise RuntimeError("a unit of work was opened inside another one on SQLite")
            await self._turn.acquire()
            self._held = _holding_turn.set(True)
        db = self._db = await self._connect().start()
        if self._options:
            await db.execution_options(**self._options)
        self.accounts = SqlAccountRepository(db)
        self.identities = SqlIdentityRepository(db)
        self.link_attempts = SqlLinkAttemptRepository(db)
        self.licences = SqlLicenceRepository(db)
        self.tickets = SqlTicketRepository(db)
        self.outbox = self._outbox = SqlOutboxRepository(db, self._hand_off.lessee if self._hand_off else None)
        self.messages = SqlMessageRepository(db, relay=self._outbox.add_with_message)
        self.events = SqlProcessedEventRepository(db)
        self.reminders = SqlReminderLedger(db)
        self.audit = SqlAuditRepository(db)
        self.access = SqlAccessRepository(db)
        self.ratings = SqlRatingRepository(db)
        self.housekeeping = SqlHousekeeping(db)
        return self

    async def __aexit__(self, *exc: object) -> None:
        db = self._require_db()
        self._db = None
        try:
            await db.rollback()  # a no-op after commit()
        finally:
            await db.close()
            if self._turn is not None and self._held is not None:
                _holding_turn.reset(self._held)
                self._turn.release()

    async def commit(self) -> None:
        db = self._require_db()
        if self._early_hand_off and isinstance(db, LoopConnection):
            await db.commit(visible=self._pass_on)  # handed over while the log syncs (sqlite_loop.py)
        else:
            await db.commit()
            self._pass_on()

    def _pass_on(self) -> None:
        if self._outbox.handed:
            assert self._hand_off is not None
            # as committed: the use case may go on changing its objects
            self._hand_off.handed([handed_delivery(*row) for row in self._outbox.handed])
            self._outbox.handed.clear()
        added = self._outbox.added
        if self._on_commit is not None and added:
            self._on_commit(set(added))
        added.clear()

    async def rollback(self) -> None:
        await self._require_db().rollback()

    def _require_db(self) -> AsyncConnection:
        if self._db is None:
            raise RuntimeError("use the unit of work inside `async with`")
        return self._db


def handed_delivery(item: OutboxItem, ticket: Ticket | None, message: Message | None) -> Delivery:
    assert item.id is not None
    # the item is this unit of work's own; the ticket and message the use case's, which may go on
    return Delivery(item.id, item.action, item.payload, copy(ticket) if ticket else None,
                    copy(message) if message else None, item)


def sql_uow_factory(
    connect: Callable[[], AsyncConnection],
    on_commit: Callable[[set[Target]], None] | None = None,
    one_at_a_time: bool = False,
    hand_off: NewRows | None = None,
) -> UnitOfWorkFactory:
    """`one_at_a_time` (for SQLite, which has one writer anyway): this process's transactions
    queue on an asyncio lock and start the moment the previous one ends, instead of meeting
    the database lock and polling for it in SQLite's busy handler (a sleep of 1 ms and more)."""
    turn = asyncio.Lock() if one_at_a_time else None

    def make(*, autocommit: bool = False, durable: bool = True, early_hand_off: bool = False) -> UnitOfWork:
        return SqlUnitOfWork(connect, on_commit, turn, hand_off, autocommit, durable, early_hand_off)

    return make
