"""Every hot query plans on an index, on a seeded database whose planner has statistics.

With statistics (ANALYZE; PRAGMA optimize on SQLite) the planners weigh real row counts: a
query that used an index on an empty database can switch to a full scan once millions of
delivered outbox rows exist (the outbox claim did: `SCAN outbox`). Each query is captured as
the repository sends it and EXPLAINed with the same parameters, so a plan regression fails here.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.delivery.effects import effect
from bot.domain import Message, MessageKind, OutboxItem, Target
from bot.ports import UnitOfWork, UnitOfWorkFactory
from storage.engine import statement_engines
from storage.models import DEADLINE_COLUMNS
from storage.outbox_repository import SqlOutboxRepository
from tests.scale_seed import NOW, STAFF, seed

TICKETS = 2_000  # with 10 messages each: 20k messages, outbox rows and processed events

Query = Callable[[UnitOfWork], Awaitable[Any]]

HOT_QUERIES: dict[str, Query] = {
    "outbox claim (staff)": lambda uow: uow.outbox.claim_due(NOW, 50, targets=[Target.STAFF]),
    "outbox claim (customer)": lambda uow: uow.outbox.claim_due(NOW, 50, targets=[Target.CUSTOMER]),
    "outbox lease (staff, with tickets and messages)":
        lambda uow: uow.outbox.claim_with_context(NOW, 50, targets=[Target.STAFF]),
    "outbox next due": lambda uow: uow.outbox.next_due_at(targets=[Target.STAFF]),
    **{f"sweep {column}": (lambda uow, c=column: uow.tickets.claim_due(c, NOW, 100)) for column in DEADLINE_COLUMNS},
    "open tickets page": lambda uow: uow.tickets.open_page(25),
    "open tickets page, all of them": lambda uow: uow.tickets.open_page(10_000),
    "open tickets count": lambda uow: uow.tickets.count_open(),
    "my open tickets page": lambda uow: uow.tickets.open_page(25, assignee=STAFF[1]),
    "my open tickets count": lambda uow: uow.tickets.count_open(assignee=STAFF[1]),
    "stats": lambda uow: uow.tickets.stats_between(NOW - timedelta(days=30), NOW, 3600.0),
    "stats, unmeasured answers": lambda uow: uow.tickets.unmeasured_answers(NOW - timedelta(days=30), NOW),
    "customer's open tickets": lambda uow: uow.tickets.open_for_account(7),
    "customer's tickets": lambda uow: uow.tickets.for_account(7),
    "ticket by customer thread": lambda uow: uow.tickets.by_customer_thread("discord-thread-77"),
    "ticket by staff thread": lambda uow: uow.tickets.by_staff_thread("C0SEO0001:1700000077.000100"),
    "message by customer ref": lambda uow: uow.messages.by_ref("customer", "dm-77"),
    "message by staff ref": lambda uow: uow.messages.by_ref("staff", "C0SEO0001:1700000077.000200"),
    "ticket's messages": lambda uow: uow.messages.for_ticket(77),
    # the relay: a row written leased to this process unless an older one of its ticket waits elsewhere
    "outbox row written for the hand-off": lambda uow: SqlOutboxRepository(uow.outbox._db, lambda _: "me").add(  # type: ignore[attr-defined]
        OutboxItem(Target.STAFF, "post", {}, NOW, ticket_id=77)),
    # a message and the row that relays it: on PostgreSQL one statement, a data-modifying CTE
    "message with its relay row, for the hand-off": lambda uow: _relayed(uow),
    "outbox: an older row of the ticket pending":
        lambda uow: uow.outbox.has_older_pending(OutboxItem(Target.STAFF, "post", {}, NOW, ticket_id=77, id=10**9)),
    # a batch is a small share of the table: the index finds the oldest rows
    "prune delivered outbox": lambda uow: uow.housekeeping.prune_delivered_outbox(NOW - timedelta(days=2), 200),
    "prune processed events": lambda uow: uow.housekeeping.prune_processed_events(NOW - timedelta(days=7), 200),
}


# On SQLite these are two statements checked above or safe: a message's INSERT plans `SCAN outbox`,
# the check of child rows SQLite compiles into an insert into a parent table but runs only while
# deferred foreign key violations are outstanding (never here; bench.scale's relay at 1M outbox
# rows costs what it does on an empty database).
POSTGRES_ONLY = {"message with its relay row, for the hand-off"}


async def _relayed(uow: UnitOfWork) -> bool:
    message = Message(77, MessageKind.CUSTOMER, "u-77", "Alice", "still broken", NOW, customer_ref="plan-77")
    outbox = SqlOutboxRepository(uow.outbox._db, lambda _: "me")  # type: ignore[attr-defined]
    return await outbox.add_with_message(message, [effect(NOW, Target.STAFF, "post", None, message)])


async def _statements(engine: AsyncEngine, uow_factory: UnitOfWorkFactory, query: Query) -> list[tuple[str, Any]]:
    """The SELECT, DELETE and INSERT statements `query` sends, with their parameters (rolled back)."""
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "DELETE", "INSERT", "WITH")):
            captured.append((statement, parameters))

    for listened in statement_engines(engine):
        event.listen(listened, "before_cursor_execute", capture)
    try:
        async with uow_factory() as uow:
            await query(uow)  # never committed
    finally:
        for listened in statement_engines(engine):
            event.remove(listened, "before_cursor_execute", capture)
    return captured


async def _plan(engine: AsyncEngine, statement: str, parameters: Any) -> str:
    async with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            return "\n".join(str(r[-1]) for r in rows)
        rows = await connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
        return "\n".join(str(r[0]) for r in rows)


def full_scans(plan: str) -> list[str]:
    """Plan lines that read a whole table: SQLite's bare `SCAN <table>`, PostgreSQL's Seq Scan.
    (`SCAN t USING ... INDEX` walks an index, not the table; a partial index stays small; a
    CO-ROUTINE is a subquery's own rows, not a table.)"""
    subqueries = set(re.findall(r"CO-ROUTINE (\w+)", plan))
    sqlite = [line for line in plan.splitlines()
              if (m := re.fullmatch(r"\s*SCAN (\w+)( AS \w+)?\s*", line)) and m.group(1) not in subqueries]
    return sqlite + [line for line in plan.splitlines() if "Seq Scan" in line]


def test_full_scans_are_recognised() -> None:
    assert full_scans("SCAN outbox\nCORRELATED SCALAR SUBQUERY 1") == ["SCAN outbox"]
    assert full_scans("SCAN tickets USING COVERING INDEX ix_tickets_open_undated") == []
    assert full_scans("CO-ROUTINE b\nSCAN CONSTANT ROW\nSCAN b") == []
    assert full_scans("SEARCH outbox USING INDEX ix_outbox_pending (target=?)") == []
    assert full_scans("Limit\n  ->  Seq Scan on outbox") == ["  ->  Seq Scan on outbox"]


@pytest.mark.timeout(300)
async def test_hot_queries_use_indexes_with_statistics(db_engine: AsyncEngine, uow_factory: UnitOfWorkFactory) -> None:
    await seed(db_engine, TICKETS)
    problems = []
    for name, query in HOT_QUERIES.items():
        if name in POSTGRES_ONLY and db_engine.dialect.name != "postgresql":
            continue
        statements = await _statements(db_engine, uow_factory, query)
        assert statements, f"{name}: no statement captured"
        for statement, parameters in statements:
            plan = await _plan(db_engine, statement, parameters)
            if full_scans(plan):
                problems.append(f"{name}:\n{statement}\n{plan}")
    assert not problems, "\n\n".join(problems)
