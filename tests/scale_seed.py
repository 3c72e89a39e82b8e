"""A database that looks like years of use, filled with bulk SQL: for query-plan tests and bench/scale.py.

Mostly closed tickets; a few percent open (half waiting on staff with deadlines spread over the
coming weeks, half waiting on the customer); every ticket has messages, every message a delivered
outbox row and a processed event. Then the planner's statistics are gathered (ANALYZE, and
PRAGMA optimize on SQLite), as a long-running production database would have them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Table, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain import Ticket
from storage.models import accounts, messages, outbox, processed_events, tickets

NOW = datetime(2027, 3, 3, 10, 0, tzinfo=UTC)  # a Wednesday, desk open
CHUNK = 20_000
STAFF = ("U-ANNA", "U-BOB", "U-CARL", "U-DORA")
PRODUCTS = ("seo-suite", "page-cache", "image-tools")
TICKET_COLUMNS = [f.name for f in fields(Ticket) if f.name != "id"] + ["first_response_work_s"]
# the columns each table is filled with (a schema without one of them just does without)
TABLE_FILLED = {
    "tickets": set(TICKET_COLUMNS),
    "messages": {"ticket_id", "kind", "author_id", "author_name", "body", "created_at", "attachments",
                 "customer_ref", "staff_ref", "edited_at", "deleted"},
    "outbox": {"target", "action", "payload", "created_at", "ticket_id", "message_id", "status", "attempts",
               "next_attempt_at", "delivered_at", "ref", "last_error"},
    "processed_events": {"platform", "event_id", "at"},
}


def ticket_rows(count: int, open_share: float) -> Iterator[dict[str, Any]]:
    every_open = max(int(1 / open_share), 1)
    start = NOW - timedelta(days=3 * 365)
    step = (NOW - start) / max(count, 1)
    for i in range(count):
        opened = start + step * i
        row: dict[str, Any] = dict.fromkeys(TICKET_COLUMNS)
        row.update(account_id=1 + i % 1000, customer_platform="discord", customer_user_id=f"u{i % 1000}",
                   customer_name="Customer", customer_email=f"c{i % 1000}@example.com",
                   product=PRODUCTS[i % len(PRODUCTS)], subject=f"Question {i}", magento_version="2.4.6",
                   module_version="1.3.0", description="Something is broken. " * 20, steps="Steps.",
                   changes="None.", errors="", opened_at=opened, licence_expires_at=NOW + timedelta(days=300),
                   staff_channel=f"support-{PRODUCTS[i % len(PRODUCTS)]}", locale="en", period=3,
                   waiting_since=opened, first_response_at=opened + timedelta(hours=3),
                   first_response_work_s=3 * 3600.0, customer_thread_ref=f"discord-thread-{i}",
                   staff_thread_ref=f"C0SEO0001:{1_700_000_000 + i}.000100")
        if i % every_open == 0:
            j = i // every_open  # the how-many-th open ticket: they mix states and assignees
            if j % 2:
                row.update(status="awaiting_staff", assignee=STAFF[j % len(STAFF)] if j % 3 else None,
                           sla_warn_at=NOW + timedelta(hours=j % 500), sla_due_at=NOW + timedelta(hours=1 + j % 500))
            else:
                row.update(status="awaiting_customer", assignee=STAFF[j % len(STAFF)],
                           nudge_at=NOW + timedelta(days=2), autoclose_warn_at=NOW + timedelta(days=5),
                           autoclose_at=NOW + timedelta(days=7))
        else:
            row.update(status="closed", closed_at=opened + timedelta(days=2), close_reason="resolved",
                       closed_by="system", assignee=STAFF[i % len(STAFF)])
        yield row


def message_rows(ticket_count: int, per_ticket: int) -> Iterator[dict[str, Any]]:
    start = NOW - timedelta(days=3 * 365)
    for i in range(ticket_count * per_ticket):
        ticket_id = 1 + i // per_ticket
        yield {"ticket_id": ticket_id, "kind": "customer" if i % 2 else "staff", "author_id": "u1",
               "author_name": "Someone", "body": f"message {i}", "created_at": start + timedelta(seconds=60 * i),
               "attachments": [], "customer_ref": f"dm-{i}", "staff_ref": f"C0SEO0001:{1_700_000_000 + i}.000200",
               "edited_at": None, "deleted": False}


def outbox_rows(message_count: int, per_ticket: int) -> Iterator[dict[str, Any]]:
    start = NOW - timedelta(days=3 * 365)
    for i in range(message_count):
        at = start + timedelta(seconds=60 * i)
        yield {"target": "staff" if i % 2 else "customer", "action": "post", "payload": {},
               "created_at": at, "ticket_id": 1 + i // per_ticket, "message_id": i + 1, "status": "delivered",
               "attempts": 1, "next_attempt_at": at + timedelta(minutes=2), "delivered_at": at,
               "ref": f"ref-{i}", "last_error": None}


def pending_rows(ticket_count: int, count: int) -> Iterator[dict[str, Any]]:
    """A few rows still to deliver, as a live database always has."""
    for i in range(count):
        yield {"target": "staff" if i % 2 else "customer", "action": "post", "payload": {},
               "created_at": NOW, "ticket_id": ticket_count - i % max(ticket_count, 1), "message_id": None,
               "status": "pending", "attempts": 0, "next_attempt_at": None, "delivered_at": None,
               "ref": None, "last_error": None}


def event_rows(message_count: int) -> Iterator[dict[str, Any]]:
    start = NOW - timedelta(days=3 * 365)
    for i in range(message_count):
        yield {"platform": "discord", "event_id": f"event-{i}", "at": start + timedelta(seconds=60 * i)}


async def _bulk(engine: AsyncEngine, table: Table, rows: Iterator[dict[str, Any]]) -> None:
    columns = [c.name for c in table.columns if c.name in TABLE_FILLED[table.name]]
    if engine.dialect.name == "postgresql":
        json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver: Any = raw.driver_connection
            records = ([json.dumps(row[c]) if c in json_columns else row[c] for c in columns] for row in rows)
            await driver.copy_records_to_table(table.name, records=records, columns=columns)
            await connection.commit()
        return
    while True:
        chunk = [{c: row[c] for c in columns} for _, row in zip(range(CHUNK), rows, strict=False)]
        if not chunk:
            return
        async with engine.begin() as connection:
            await connection.execute(insert(table), chunk)


async def seed(engine: AsyncEngine, ticket_count: int, messages_per_ticket: int = 10,
               open_share: float = 0.05) -> None:
    """Fill a freshly migrated, empty database; ticket ids run 1..ticket_count."""
    async with engine.begin() as connection:
        # ids 1..1000 from the sequence (explicit ids would leave PostgreSQL's sequence behind)
        await connection.execute(insert(accounts), [{"email": f"c{n}@example.com"} for n in range(1000)])
    await _bulk(engine, tickets, ticket_rows(ticket_count, open_share))
    message_count = ticket_count * messages_per_ticket
    await _bulk(engine, messages, message_rows(ticket_count, messages_per_ticket))
    await _bulk(engine, outbox, outbox_rows(message_count, messages_per_ticket))
    await _bulk(engine, outbox, pending_rows(ticket_count, 6))
    await _bulk(engine, processed_events, event_rows(message_count))
    await gather_statistics(engine)


async def gather_statistics(engine: AsyncEngine) -> None:
    """What a long-lived database has: ANALYZE (and PRAGMA optimize on SQLite)."""
    async with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.exec_driver_sql("VACUUM ANALYZE")
            return
        await connection.exec_driver_sql("ANALYZE")
        await connection.exec_driver_sql("PRAGMA optimize")
        await connection.commit()
