"""The outbox's statements, built once at import: building one (subqueries, a label per column
of three tables, a UNION per row) cost more CPU than running it. Bound parameters carry what
changes; storage/outbox_repository.py runs them."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import (
    ColumnClause,
    Integer,
    String,
    bindparam,
    case,
    exists,
    func,
    literal_column,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql

from bot.domain import OutboxStatus
from storage.models import UTCDateTime, messages, outbox, tickets

# Inline literal rather than a bind parameter: lets the planner match the status index.
PENDING: ColumnClause[str] = literal_column(f"'{OutboxStatus.PENDING.value}'", String())


# What delivery changes on a row; the rest (target, action, payload, links) is fixed at insert,
# so writes after it are narrow: no payload JSON sent again, and one prebuilt statement each.
STATE = ("status", "attempts", "next_attempt_at", "delivered_at", "ref", "last_error", "leased_by")
SAVE = update(outbox).where(outbox.c.id == bindparam("row_id")).values(
    {name: bindparam(name) for name in STATE})
# settle: only while `owner` holds the lease; attempts was counted when the row was leased
SETTLE = update(outbox).where(outbox.c.id == bindparam("row_id"), outbox.c.leased_by == bindparam("owner")).values(
    {name: bindparam(name) for name in STATE if name != "attempts"})
# PostgreSQL, in a unit of work that need not be durable: the commit does not wait for the disk,
# set by the statement itself for its transaction (no round trip of its own)
SETTLE_UNSYNCED = SETTLE.where(func.set_config("synchronous_commit", "off", True) == "off")


def claim_statement(with_context: bool, by_target: bool) -> Any:
    """The claim, built once per shape: building it (two subqueries, a label per column of three
    tables) cost more CPU than running it; bound parameters carry what changes."""
    older, newer = outbox.alias("older"), outbox.alias("newer")
    # A row waits while an older row of its ticket and target is pending (due or not),
    # which keeps order per ticket and destination; rows without a ticket go independently.
    has_older_pending = exists().where(
        older.c.ticket_id == outbox.c.ticket_id,
        older.c.target == outbox.c.target,
        older.c.status == PENDING,
        older.c.id < outbox.c.id,
    )
    # and whether one waits behind it: then the dispatcher looks again after this batch
    has_newer_pending = exists().where(
        newer.c.ticket_id == outbox.c.ticket_id,
        newer.c.target == outbox.c.target,
        newer.c.status == PENDING,
        newer.c.id > outbox.c.id,
    ).label("left_behind")
    columns: list[Any] = [outbox, has_newer_pending]
    source: Any = outbox
    if with_context:  # the row's ticket and message in the same round trip (by primary key)
        columns += [c.label(f"t__{c.name}") for c in tickets.c] + [c.label(f"m__{c.name}") for c in messages.c]
        source = outbox.outerjoin(tickets, tickets.c.id == outbox.c.ticket_id).outerjoin(
            messages, messages.c.id == outbox.c.message_id)
    now = bindparam("now", type_=UTCDateTime())
    return (
        select(*columns)
        .select_from(source)
        .where(
            outbox.c.status == PENDING,
            or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= now),
            ~has_older_pending,
            *([outbox.c.target.in_(bindparam("targets", expanding=True))] if by_target else []),
        )
        .order_by(outbox.c.id)
        .limit(bindparam("limit", type_=Integer()))
        .with_for_update(skip_locked=True, of=outbox)
    )


ADD = outbox.insert().returning(outbox.c.id)


FIXED = ("target", "action", "payload", "created_at", "ticket_id", "message_id", "status", "delivered_at", "ref",
          "last_error")


@functools.cache
def add_leased_statement(rows: int, relays: tuple[bool, ...] = ()) -> Any:
    """Insert `rows` rows, each leased to `lessee` until its `until`, unless an older row of its
    ticket and target is pending and not in the lessee's hands (waiting, retrying, or another
    process's): then as any row, due now, for a lease to take in order. Rows the lessee holds it
    delivers in order itself (bot/delivery/new_rows.py, the hand-off). One statement: the rows
    of a use case (a post and its card update) are checked against what was there before it, as
    they would be one by one (a row after a leased one of its ticket is leased too, after a
    waiting one it waits), and inserted in order. Parameters: `lessee`, and NAME_i for row i.
    With `relays` (PostgreSQL), the message the rows relay is inserted first, in the same
    statement (MSG_NAME parameters), unless its platform ref is stored (then no row is either);
    row i takes its id when relays[i]."""
    lessee = bindparam("lessee", type_=String())
    message = insert_message() if relays else None

    def value(name: str, i: int) -> Any:
        if message is not None and name == "message_id" and relays[i]:
            return message.c.id
        return bindparam(f"{name}_{i}", type_=outbox.c[name].type)

    new = union_all(*[select(literal_column(str(i)).label("ord"), *[value(name, i).label(name) for name in FIXED],
                             bindparam(f"until_{i}", type_=UTCDateTime()).label("until"))
                      .select_from(*([message] if message is not None else []))
                      for i in range(rows)]).subquery("new")
    older = outbox.alias("older")
    busy = exists().where(older.c.ticket_id == new.c.ticket_id, older.c.target == new.c.target,
                          older.c.status == PENDING, or_(older.c.leased_by.is_(None), older.c.leased_by != lessee))
    checked = select(new, busy.label("busy")).subquery("checked")  # the check evaluated once a row

    def unless_busy(value: Any, otherwise: Any) -> Any:
        return case((checked.c.busy, otherwise), else_=value)

    values: dict[str, Any] = {name: checked.c[name] for name in FIXED}
    values["attempts"] = unless_busy(1, 0)
    values["next_attempt_at"] = unless_busy(checked.c.until, null())
    values["leased_by"] = unless_busy(lessee, null())
    return (outbox.insert().from_select(list(values), select(*values.values()).order_by(checked.c.ord))
            .returning(outbox.c.id, outbox.c.leased_by, outbox.c.message_id))


def insert_message() -> Any:
    """The message a relay's rows carry, as a data-modifying CTE (PostgreSQL): its id, or no row
    when its platform ref is stored (the unique indexes of migration 0008)."""
    columns = [c for c in messages.c if c.name != "id"]
    return (postgresql.insert(messages).values({c.name: bindparam(f"msg_{c.name}", type_=c.type) for c in columns})
            .on_conflict_do_nothing().returning(messages.c.id).cte("relayed"))


OLDER = outbox.alias("older")
HAS_OLDER_PENDING = select(exists().where(
    OLDER.c.ticket_id == bindparam("ticket_id"), OLDER.c.target == bindparam("target"),
    OLDER.c.status == PENDING, OLDER.c.id < bindparam("row_id")))

# (with the ticket and message, filtered by target) -> the claim
CLAIMS = {(context, by_target): claim_statement(context, by_target)
           for context in (False, True) for by_target in (False, True)}
