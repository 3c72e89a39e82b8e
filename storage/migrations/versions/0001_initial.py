"""Initial schema: every table and index of storage/models.py.

Revision ID: 0001
Revises:
Create Date: 2026-11-26

"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of storage.models.UTCDateTime's column type (migrations never import models).
UTC_DATETIME = sa.DateTime(timezone=True)


def _where(predicate: str) -> dict[str, Any]:
    """A partial index predicate for both SQLite and PostgreSQL."""
    return {"sqlite_where": sa.text(predicate), "postgresql_where": sa.text(predicate)}


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("email", name=op.f("uq_accounts_email")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_ticket_id"), "audit_log", ["ticket_id"], unique=False)

    op.create_table(
        "licences",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("product", sa.String(length=255), nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_licences")),
    )
    op.create_index(op.f("ix_licences_email"), "licences", ["email"], unique=False)

    op.create_table(
        "link_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_attempts")),
    )
    op.create_index(
        "ix_link_attempts_platform_user_id_at", "link_attempts", ["platform", "user_id", "at"], unique=False
    )

    op.create_table(
        "processed_events",
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("platform", "event_id", name=op.f("pk_processed_events")),
    )
    op.create_table(
        "identities",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("linked_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_identities_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identities")),
        sa.UniqueConstraint("platform", "user_id", name=op.f("uq_identities_platform_user_id")),
    )
    op.create_index(op.f("ix_identities_account_id"), "identities", ["account_id"], unique=False)

    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("customer_platform", sa.String(length=32), nullable=False),
        sa.Column("customer_user_id", sa.String(length=64), nullable=False),
        sa.Column("customer_name", sa.String(length=255), nullable=False),
        sa.Column("customer_email", sa.String(length=320), nullable=False),
        sa.Column("product", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("magento_version", sa.String(length=64), nullable=False),
        sa.Column("module_version", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("steps", sa.Text(), nullable=False),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.Column("errors", sa.Text(), nullable=False),
        sa.Column("opened_at", UTC_DATETIME, nullable=False),
        sa.Column("licence_expires_at", UTC_DATETIME, nullable=False),
        sa.Column("staff_channel", sa.String(length=64), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("waiting_since", UTC_DATETIME, nullable=True),
        sa.Column("first_response_at", UTC_DATETIME, nullable=True),
        sa.Column("last_customer_message_at", UTC_DATETIME, nullable=True),
        sa.Column("sla_warn_at", UTC_DATETIME, nullable=True),
        sa.Column("sla_due_at", UTC_DATETIME, nullable=True),
        sa.Column("nudge_at", UTC_DATETIME, nullable=True),
        sa.Column("autoclose_warn_at", UTC_DATETIME, nullable=True),
        sa.Column("autoclose_at", UTC_DATETIME, nullable=True),
        sa.Column("licence_check_at", UTC_DATETIME, nullable=True),
        sa.Column("overdue_since", UTC_DATETIME, nullable=True),
        sa.Column("closed_at", UTC_DATETIME, nullable=True),
        sa.Column("close_reason", sa.String(length=32), nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.Column("customer_thread_ref", sa.String(length=128), nullable=True),
        sa.Column("staff_thread_ref", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_tickets_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
    )
    op.create_index(op.f("ix_tickets_account_id"), "tickets", ["account_id"], unique=False)
    op.create_index(op.f("ix_tickets_closed_at"), "tickets", ["closed_at"], unique=False)
    op.create_index(op.f("ix_tickets_customer_thread_ref"), "tickets", ["customer_thread_ref"], unique=False)
    op.create_index(
        "ix_tickets_open_autoclose_at",
        "tickets",
        ["autoclose_at"],
        unique=False,
        **_where("status != 'closed' AND autoclose_at IS NOT NULL"),
    )
    op.create_index(
        "ix_tickets_open_autoclose_warn_at",
        "tickets",
        ["autoclose_warn_at"],
        unique=False,
        **_where("status != 'closed' AND autoclose_warn_at IS NOT NULL"),
    )
    op.create_index(
        "ix_tickets_open_licence_check_at",
        "tickets",
        ["licence_check_at"],
        unique=False,
        **_where("status != 'closed' AND licence_check_at IS NOT NULL"),
    )
    op.create_index(
        "ix_tickets_open_nudge_at",
        "tickets",
        ["nudge_at"],
        unique=False,
        **_where("status != 'closed' AND nudge_at IS NOT NULL"),
    )
    op.create_index(
        "ix_tickets_open_sla_due_at",
        "tickets",
        ["sla_due_at"],
        unique=False,
        **_where("status != 'closed' AND sla_due_at IS NOT NULL"),
    )
    op.create_index(
        "ix_tickets_open_sla_warn_at",
        "tickets",
        ["sla_warn_at"],
        unique=False,
        **_where("status != 'closed' AND sla_warn_at IS NOT NULL"),
    )
    op.create_index(op.f("ix_tickets_opened_at"), "tickets", ["opened_at"], unique=False)
    op.create_index(op.f("ix_tickets_staff_thread_ref"), "tickets", ["staff_thread_ref"], unique=False)
    op.create_index(op.f("ix_tickets_status"), "tickets", ["status"], unique=False)

    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("author_id", sa.String(length=64), nullable=False),
        sa.Column("author_name", sa.String(length=255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("customer_ref", sa.String(length=128), nullable=True),
        sa.Column("staff_ref", sa.String(length=128), nullable=True),
        sa.Column("edited_at", UTC_DATETIME, nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_messages_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
    )
    op.create_index(op.f("ix_messages_customer_ref"), "messages", ["customer_ref"], unique=False)
    op.create_index(op.f("ix_messages_staff_ref"), "messages", ["staff_ref"], unique=False)
    op.create_index("ix_messages_ticket_id_id", "messages", ["ticket_id", "id"], unique=False)

    op.create_table(
        "reminder_ledger",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_reminder_ledger_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("ticket_id", "kind", "period", name=op.f("pk_reminder_ledger")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC_DATETIME, nullable=True),
        sa.Column("delivered_at", UTC_DATETIME, nullable=True),
        sa.Column("ref", sa.String(length=128), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], name=op.f("fk_outbox_message_id_messages")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_outbox_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index("ix_outbox_status_next_attempt_at", "outbox", ["status", "next_attempt_at"], unique=False)
    op.create_index("ix_outbox_ticket_id_status_id", "outbox", ["ticket_id", "status", "id"], unique=False)


def downgrade() -> None:
    """Downgrade schema (indexes go with their tables)."""
    for table in (
        "outbox",
        "reminder_ledger",
        "messages",
        "tickets",
        "identities",
        "processed_events",
        "link_attempts",
        "licences",
        "audit_log",
        "accounts",
    ):
        op.drop_table(table)
