"""The desk ledger: desk-wide events that must happen once (the weekly SLA report), by (kind, period).

Revision ID: 0006
Revises: 0002
Create Date: 2026-12-01

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of storage.models.UTCDateTime's column type (migrations never import models).
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "desk_ledger",
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("kind", "period", name=op.f("pk_desk_ledger")),
    )


def downgrade() -> None:
    op.drop_table("desk_ledger")
