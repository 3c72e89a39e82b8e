"""The relay traced on SQLite and PostgreSQL (the `db_url` fixture): a store with one open ticket,
its card and thread delivered, and every statement and transaction its engines run from then on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import event

from bot.customers.accounts import link_account
from bot.customers.licences import StoredLicences
from bot.delivery.outbox import Dispatcher
from bot.desk import Desk
from bot.domain import Target
from bot.tickets.opening import open_ticket
from bot.time.clock import ManualClock
from storage.engine import statement_engines
from supportbot.bootstrap import Store, open_store
from tests.core_helpers import OPEN_TIME, form, link, make_policy
from tests.fakes import RecordingPort
from tests.test_timers_storage import LICENCES, import_licences


@dataclass
class Traced:
    store: Store
    desk: Desk
    dispatcher: Dispatcher
    staff: RecordingPort
    customer: RecordingPort
    statements: list[str] = field(default_factory=list)
    transactions: int = 0

    def reset(self) -> None:
        self.statements.clear()
        self.transactions = 0


@pytest.fixture
async def traced(db_url: str) -> AsyncIterator[Traced]:
    store = await open_store(db_url, migrate=False)
    try:
        await import_licences(store.uow, *LICENCES)
        desk = Desk(store.uow, ManualClock(OPEN_TIME), make_policy(), StoredLicences(store.uow))
        await link_account(desk, link())
        await open_ticket(desk, form())
        staff, customer = RecordingPort("s"), RecordingPort("c")
        dispatcher = Dispatcher(store.uow, desk.clock, {Target.STAFF: staff, Target.CUSTOMER: customer},
                                wake=store.wake, new_rows=store.new_rows)
        await dispatcher.run_once(everywhere=True)  # the card and the customer's thread
        t = Traced(store, desk, dispatcher, staff, customer)

        def _statement(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            t.statements.append(" ".join(statement.split()))

        def _begin(*_: Any) -> None:
            t.transactions += 1

        for engine in statement_engines(store.engine):
            event.listen(engine, "before_cursor_execute", _statement)
            event.listen(engine, "begin", _begin)

        yield t
    finally:
        await store.engine.dispose()


def writes(t: Traced, table: str) -> list[str]:
    return [s for s in t.statements if s.startswith(f"UPDATE {table} ")]
