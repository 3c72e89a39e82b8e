"""Table definitions (SQLAlchemy Core). Repositories map rows to the domain dataclasses.

Enums are stored as their string values. Datetimes are stored in UTC and always come
back timezone-aware (SQLite has no time zones, so UTCDateTime attaches UTC on read).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend; naive datetimes are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: store timezone-aware datetimes")
        value = value.astimezone(UTC)
        # SQLite stores text without offset: store UTC wall time so text order is time order.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Inline literal (not a bind parameter) so the planners can match partial indexes.
OPEN_TICKET_SQL = "status != 'closed'"
# Deadline columns the sweeper may claim on.
DEADLINE_COLUMNS = ("sla_warn_at", "sla_due_at", "nudge_at", "autoclose_warn_at", "autoclose_at", "licence_check_at")


_OPEN = text(OPEN_TICKET_SQL)
_ASSIGNED = text(f"{OPEN_TICKET_SQL} AND assignee IS NOT NULL")
_UNDATED = text(f"{OPEN_TICKET_SQL} AND sla_due_at IS NULL")
_PENDING = text("status = 'pending'")
_DELIVERED = text("status = 'delivered'")
_CUSTOMER_AUTHORED = text("kind = 'customer'")
_STAFF_AUTHORED = text("kind IN ('staff', 'note')")


def _open_deadline_index(column: str) -> Index:
    """Index only open tickets with the deadline armed: a sweep costs what is due."""
    where = text(f"{OPEN_TICKET_SQL} AND {column} IS NOT NULL")
    return Index(f"ix_tickets_open_{column}", column, sqlite_where=where, postgresql_where=where)


accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),
)

identities = Table(
    "identities",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("platform", String(32), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("display_name", String(255), nullable=False, default=""),
    Column("locale", String(16), nullable=False, default="en"),
    Column("linked_at", UTCDateTime(), nullable=True),
    UniqueConstraint("platform", "user_id"),
)

link_attempts = Table(
    "link_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("platform", String(32), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Index("ix_link_attempts_platform_user_id_at", "platform", "user_id", "at"),
)

licences = Table(
    "licences",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("email", String(320), nullable=False, index=True),
    Column("product", String(255), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
)

tickets = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("customer_platform", String(32), nullable=False),
    Column("customer_user_id", String(64), nullable=False),
    Column("customer_name", String(255), nullable=False),
    Column("customer_email", String(320), nullable=False),
    Column("product", String(255), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("magento_version", String(64), nullable=False),
    Column("module_version", String(64), nullable=False),
    Column("description", Text, nullable=False),
    Column("steps", Text, nullable=False),
    Column("changes", Text, nullable=False),
    Column("errors", Text, nullable=False),
    Column("opened_at", UTCDateTime(), nullable=False, index=True),
    Column("licence_expires_at", UTCDateTime(), nullable=False),
    Column("staff_channel", String(64), nullable=False),
    Column("locale", String(16), nullable=False),
    Column("status", String(32), nullable=False, index=True),
    Column("assignee", String(64), nullable=True),
    Column("period", Integer, nullable=False),
    Column("waiting_since", UTCDateTime(), nullable=True),
    Column("first_response_at", UTCDateTime(), nullable=True),
    # working time from opening to the first answer, in seconds: /tickets stats averages it in SQL
    Column("first_response_work_s", Float, nullable=True),
    Column("sla_warn_at", UTCDateTime(), nullable=True),
    Column("sla_due_at", UTCDateTime(), nullable=True),
    Column("nudge_at", UTCDateTime(), nullable=True),
    Column("autoclose_warn_at", UTCDateTime(), nullable=True),
    Column("autoclose_at", UTCDateTime(), nullable=True),
    Column("licence_check_at", UTCDateTime(), nullable=True),
    Column("overdue_since", UTCDateTime(), nullable=True),
    Column("closed_at", UTCDateTime(), nullable=True, index=True),
    Column("close_reason", String(32), nullable=True),
    Column("closed_by", String(64), nullable=True),
    Column("customer_thread_ref", String(128), nullable=True, index=True),
    Column("staff_thread_ref", String(128), nullable=True, index=True),
    *(_open_deadline_index(c) for c in DEADLINE_COLUMNS),
    # /tickets and /tickets mine: open tickets, nearest deadline first, read a page at a time
    Index("ix_tickets_open_undated", "id", sqlite_where=_UNDATED, postgresql_where=_UNDATED),
    Index("ix_tickets_open_assignee", "assignee", "sla_due_at", "id", sqlite_where=_ASSIGNED,
          postgresql_where=_ASSIGNED),
    # /tickets stats: the window's tickets aggregated from the index alone
    Index("ix_tickets_opened_at_product", "opened_at", "product", "first_response_work_s"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("author_id", String(64), nullable=False),
    Column("author_name", String(255), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("attachments", JSON, nullable=False),
    Column("customer_ref", String(128), nullable=True, index=True),
    Column("staff_ref", String(128), nullable=True, index=True),
    Column("edited_at", UTCDateTime(), nullable=True),
    Column("deleted", Boolean, nullable=False),
    Index("ix_messages_ticket_id_id", "ticket_id", "id"),
    # a message's id on the side that wrote it is its event's: storing it checks for a duplicate
    Index("ux_messages_customer_authored", "customer_ref", unique=True, sqlite_where=_CUSTOMER_AUTHORED,
          postgresql_where=_CUSTOMER_AUTHORED),
    Index("ux_messages_staff_authored", "staff_ref", unique=True, sqlite_where=_STAFF_AUTHORED,
          postgresql_where=_STAFF_AUTHORED),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("target", String(16), nullable=False),
    Column("action", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=True),
    Column("message_id", Integer, ForeignKey("messages.id"), nullable=True),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime(), nullable=True),
    Column("delivered_at", UTCDateTime(), nullable=True),
    Column("ref", String(128), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("leased_by", String(128), nullable=True),  # the process delivering it (see bot/delivery/outbox.py)
    Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    # Serves "is there an older pending row of this ticket?" from the index alone.
    Index("ix_outbox_ticket_id_status_id", "ticket_id", "status", "id"),
    # Only the pending rows (a handful among millions delivered): what the claim plans on.
    Index("ix_outbox_pending", "target", "next_attempt_at", sqlite_where=_PENDING, postgresql_where=_PENDING),
    # Delivered rows by age, for pruning them (storage/housekeeping.py).
    Index("ix_outbox_delivered_at", "delivered_at", sqlite_where=_DELIVERED, postgresql_where=_DELIVERED),
)

processed_events = Table(
    "processed_events",
    metadata,
    Column("platform", String(32), nullable=False),
    Column("event_id", String(255), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("platform", "event_id"),
    Index("ix_processed_events_at", "at"),  # pruning past every platform's retry window
)

reminder_ledger = Table(
    "reminder_ledger",
    metadata,
    Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("period", Integer, nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("ticket_id", "kind", "period"),
)

# Desk-wide events that happen once (the weekly SLA report), keyed like the reminder ledger.
desk_ledger = Table(
    "desk_ledger",
    metadata,
    Column("kind", String(64), nullable=False),
    Column("period", Integer, nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("kind", "period"),
)

# Satisfaction (bot/tickets/satisfaction.py): one rating per ticket, the primary key makes it once.
ratings = Table(
    "ratings",
    metadata,
    Column("ticket_id", Integer, ForeignKey("tickets.id"), primary_key=True),
    Column("score", Integer, nullable=False),
    Column("comment", Text, nullable=False),
    Column("rated_at", UTCDateTime(), nullable=False),
    Column("rated_by", String(128), nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    Column("ticket_id", Integer, nullable=True, index=True),
    Column("detail", JSON, nullable=False),
)

# Temporary access (bot/secrets/access.py): ciphertext only, never clear text.
access_grants = Table(
    "access_grants",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=False, index=True),
    Column("ciphertext", LargeBinary, nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False, index=True),
    Column("created_at", UTCDateTime(), nullable=False),
)


def row_dict(row: Any) -> dict[str, Any]:
    """A result row (or a dict already split out of a wider row) as a plain dict keyed by column name."""
    return dict(row) if isinstance(row, dict) else dict(row._mapping)
