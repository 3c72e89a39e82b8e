"""A database as a running bot leaves it: a Discord customer's ticket with deliveries pending."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from bot.customers.accounts import link_account
from bot.customers.licences import StoredLicences, import_licences
from bot.desk import Desk
from bot.domain import Licence
from bot.tickets.opening import open_ticket
from bot.time.clock import ManualClock
from supportbot.bootstrap import open_store
from tests.core_helpers import OPEN_TIME, form, link, make_policy


async def production_database(url: str) -> None:
    store = await open_store(url)
    try:
        desk = Desk(store.uow, ManualClock(OPEN_TIME), make_policy(), StoredLicences(store.uow))
        await import_licences(store.uow, [Licence("SEO-ALICE", "alice@example.com", "seo-suite",
                                                  OPEN_TIME + timedelta(days=300))])
        await link_account(desk, link())  # ALICE is a Discord customer
        await open_ticket(desk, form())
    finally:
        await store.engine.dispose()


async def table_state(url: str) -> tuple[list[tuple[object, ...]], int]:
    """(every outbox row's id, status and attempts; the number of tickets)."""
    store = await open_store(url)
    try:
        async with store.engine.connect() as connection:
            rows = (await connection.execute(text("SELECT * FROM outbox ORDER BY id"))).all()
            tickets = await connection.scalar(text("SELECT COUNT(*) FROM tickets"))
        return [tuple(row) for row in rows], int(tickets or 0)
    finally:
        await store.engine.dispose()

