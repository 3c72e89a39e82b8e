"""A delivered post's platform id is its message's: a trigger copies outbox.ref onto the
message (customer_ref for a post to the customer, staff_ref for one to staff) when the row is
settled as delivered. The settle is then one statement on both stores, and the ref is written
only with it, so only while the lease was the settler's.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHEN = ("NEW.status = 'delivered' AND OLD.status <> 'delivered' AND NEW.action = 'post'"
         " AND NEW.message_id IS NOT NULL AND NEW.ref IS NOT NULL")
_SET = {"customer": "customer_ref", "staff": "staff_ref"}


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        updates = " ".join(f"UPDATE messages SET {column} = NEW.ref WHERE id = NEW.message_id AND NEW.target = '{target}';"
                           for target, column in _SET.items())
        op.execute(f"CREATE TRIGGER outbox_post_ref AFTER UPDATE OF status ON outbox WHEN {_WHEN} BEGIN {updates} END")
        return
    updates = " ".join(f"IF NEW.target = '{target}' THEN UPDATE messages SET {column} = NEW.ref WHERE id = NEW.message_id; END IF;"
                       for target, column in _SET.items())
    op.execute(f"CREATE FUNCTION outbox_post_ref() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {updates} RETURN NULL; END $$")
    op.execute(f"CREATE TRIGGER outbox_post_ref AFTER UPDATE OF status ON outbox FOR EACH ROW WHEN ({_WHEN}) "
               "EXECUTE FUNCTION outbox_post_ref()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER outbox_post_ref")
        return
    op.execute("DROP TRIGGER outbox_post_ref ON outbox")
    op.execute("DROP FUNCTION outbox_post_ref()")
