"""A message's platform id is unique on the side that wrote it: a customer message's
customer_ref, a staff answer's or note's staff_ref. Those ids are the events' own (Discord's
message id, Slack's channel and ts), so storing a message is its own duplicate check: one
statement fewer for each relayed message than a processed_events row beside it.

Before the indexes, a later copy of an already stored message (none is expected: the events
table deduplicated them) keeps its text and loses its ref.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# index name, column, the kinds of message whose author's side that column is
_AUTHORED = (("ux_messages_customer_authored", "customer_ref", "kind = 'customer'"),
             ("ux_messages_staff_authored", "staff_ref", "kind IN ('staff', 'note')"))


def upgrade() -> None:
    for name, column, kinds in _AUTHORED:
        op.execute(f"UPDATE messages SET {column} = NULL WHERE {kinds} AND {column} IS NOT NULL AND id > "
                   f"(SELECT MIN(earlier.id) FROM messages AS earlier WHERE {kinds.replace('kind', 'earlier.kind')} "
                   f"AND earlier.{column} = messages.{column})")
        where = sa.text(kinds)
        op.create_index(name, "messages", [column], unique=True, sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    for name, _column, _kinds in _AUTHORED:
        op.drop_index(name, table_name="messages")
