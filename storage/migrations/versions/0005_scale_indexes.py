"""Scale: the outbox claim, the open-ticket lists and housekeeping stay on small indexes.

- ix_outbox_pending: only pending rows (a handful), by target and due time; the claim
  plans on it instead of walking millions of delivered rows once statistics exist.
- ix_outbox_delivered_at: delivered rows by delivery time, for pruning them.
- ix_processed_events_at: for pruning events older than every platform's retry window.
- ix_tickets_open_undated / ix_tickets_open_assignee: /tickets (and /tickets mine) read the
  open tickets a page at a time from indexes (the dated ones from ix_tickets_open_sla_due_at).
- tickets.first_response_work_s: the working time to the first answer, computed once when
  it happens, so /tickets stats averages it in SQL.

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-01

"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status != 'closed'"


def _where(predicate: str) -> dict[str, Any]:
    """A partial index predicate for both SQLite and PostgreSQL."""
    return {"sqlite_where": sa.text(predicate), "postgresql_where": sa.text(predicate)}


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("first_response_work_s", sa.Float(), nullable=True))
    op.create_index("ix_outbox_pending", "outbox", ["target", "next_attempt_at"], **_where("status = 'pending'"))
    op.create_index("ix_outbox_delivered_at", "outbox", ["delivered_at"], **_where("status = 'delivered'"))
    op.create_index("ix_processed_events_at", "processed_events", ["at"])
    op.create_index("ix_tickets_open_undated", "tickets", ["id"], **_where(f"{OPEN} AND sla_due_at IS NULL"))
    op.create_index("ix_tickets_open_assignee", "tickets", ["assignee", "sla_due_at", "id"],
                    **_where(f"{OPEN} AND assignee IS NOT NULL"))
    op.create_index("ix_tickets_opened_at_product", "tickets", ["opened_at", "product", "first_response_work_s"])


def downgrade() -> None:
    op.drop_index("ix_tickets_opened_at_product", table_name="tickets")
    op.drop_index("ix_tickets_open_assignee", table_name="tickets")
    op.drop_index("ix_tickets_open_undated", table_name="tickets")
    op.drop_index("ix_processed_events_at", table_name="processed_events")
    op.drop_index("ix_outbox_delivered_at", table_name="outbox")
    op.drop_index("ix_outbox_pending", table_name="outbox")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("first_response_work_s")
