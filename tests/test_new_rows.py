"""bot/delivery/new_rows.py: rows handed over in memory are taken in the order written, one per
ticket at a time (a ticket's next waits for the one before it, as a lease would take them), so
a chatty ticket never fills a batch ahead of the others."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.delivery.new_rows import NewRows
from bot.domain import OutboxItem, Target
from bot.ports import Delivery

_NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _row(row_id: int, ticket: int | None, target: Target = Target.STAFF) -> Delivery:
    item = OutboxItem(target, "post", {}, _NOW, ticket_id=ticket, id=row_id)
    return Delivery(row_id, "post", {}, None, None, item)


def _ids(rows: list[Delivery]) -> list[int]:
    return [d.item_id for d in rows]


def test_handed_rows_go_one_per_ticket_in_the_order_written() -> None:
    rows = NewRows()
    rows.hand_off_to("me", [Target.STAFF])
    # ticket 1 is chatty; ticket 2 and a row with no ticket come after its messages
    rows.handed([_row(1, 1), _row(2, 1), _row(3, 1), _row(4, 2), _row(5, None), _row(6, 2)])
    assert _ids(rows.take_handed(Target.STAFF, 50)) == [1, 4, 5]
    assert _ids(rows.take_handed(Target.STAFF, 50, busy={1, 2})) == []  # their rows still in hand
    assert _ids(rows.take_handed(Target.STAFF, 50, busy={2})) == [2]
    assert _ids(rows.take_handed(Target.STAFF, 1)) == [3]  # the limit, in order
    assert _ids(rows.take_handed(Target.STAFF, 50)) == [6]
    assert not rows.has_handed()


def test_rows_are_handed_only_to_a_dispatcher_serving_their_platform() -> None:
    rows = NewRows()
    assert rows.lessee(Target.STAFF) is None  # no dispatcher here: rows wait for a lease
    rows.hand_off_to("me", [Target.STAFF])
    assert (rows.lessee(Target.STAFF), rows.lessee(Target.CUSTOMER)) == ("me", None)
    rows.stop_hand_off()
    assert rows.lessee(Target.STAFF) is None


def test_a_hand_off_wakes_the_dispatcher_and_its_platforms_listeners() -> None:
    rows = NewRows()
    staff, customer = rows.listen(Target.STAFF), rows.listen(Target.CUSTOMER)
    rows.handed([_row(1, 1)])
    assert rows.wake.is_set() and staff.is_set() and not customer.is_set()
    assert rows.take() == set()  # nothing for a lease to look for: only the row in hand
