"""tickets.last_customer_message_at goes: the customer's messages say when they last wrote, and
writing it made every customer message update its ticket (a statement each) even when nothing
else about the ticket changed. The catch-up orders threads by their latest stored message.

SQLite drops a column in place from 3.35 on; with an older SQLite the column stays, unused
(nullable: nothing reads or writes it).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

"""

import sqlite3
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMN = "last_customer_message_at"


def _in_place() -> bool:
    return op.get_bind().dialect.name != "sqlite" or sqlite3.sqlite_version_info >= (3, 35)


def upgrade() -> None:
    if _in_place():
        op.execute(f"ALTER TABLE tickets DROP COLUMN {_COLUMN}")


def downgrade() -> None:
    if _in_place():
        op.add_column("tickets", sa.Column(_COLUMN, sa.DateTime(timezone=True), nullable=True))
