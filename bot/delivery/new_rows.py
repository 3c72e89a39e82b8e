"""Which platforms got new outbox rows since the dispatcher last looked, so a pass leases only
those (a lease over a platform with nothing due is a transaction for nothing); and the rows this
process leased as it wrote them (the hand-off), which the dispatcher delivers from memory.

The unit of work's commit hook calls `added` with the targets of the rows it committed for a
lease to take (a commit that added none wakes nobody), and `handed` with the rows it wrote
already leased; a signal that cannot say which (another process's NOTIFY) calls `anywhere`.
Commits the dispatcher makes itself are not signalled: what they add (a reaction to a delivered
answer) it takes in the same pass, so a wake-up would find nothing.

The hand-off: while a dispatcher serves a platform here (`hand_off_to`), a row for it is written
leased by this process unless an older row of its ticket and platform waits outside its hands
(unleased, retrying, or another process's): the order a lease keeps. It is handed over with its
ticket and message once committed, which saves the lease transaction; a ticket's rows are taken
one at a time. Were the process to die first, the row's lease runs out like any other's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable
from contextvars import ContextVar

from bot.domain import Target
from bot.ports import Delivery

# set while the dispatcher itself is in a unit of work (its own task only)
in_dispatcher: ContextVar[bool] = ContextVar("in_outbox_dispatcher", default=False)


class NewRows:
    def __init__(self, wake: asyncio.Event | None = None) -> None:
        self.wake = wake or asyncio.Event()
        self._targets: set[Target] = set()
        self._anywhere = False
        self._listeners: list[tuple[Target, asyncio.Event]] = []
        self._lessee: str | None = None  # who takes rows as they are written: this process's dispatcher
        self._serves: frozenset[Target] = frozenset()
        self._handed: dict[Target, list[Delivery]] = {}

    def added(self, targets: Collection[Target]) -> None:
        if in_dispatcher.get() or not targets:
            return  # the dispatcher's own rows: it leases them in the pass it is in (Dispatcher._queued)
        self._targets.update(targets)
        self._signal(targets)

    def anywhere(self) -> None:
        self._anywhere = True
        self._signal(set(Target))

    def take(self) -> set[Target] | None:
        """The targets whose rows a lease should look for now, and forget them; None: every
        target (no hint at all, or a signal that could not say which)."""
        targets, anywhere = self._targets, self._anywhere
        self._targets, self._anywhere = set(), False
        return None if anywhere or not (targets or self.has_handed()) else targets

    def waiting(self, target: Target) -> bool:
        """Whether rows for `target` may have been committed for a lease since the last take."""
        return self._anywhere or target in self._targets

    def listen(self, target: Target) -> asyncio.Event:
        """An event set by every later commit that adds rows for `target` (or cannot say which):
        a pass still delivering takes them at once (bot/delivery/lanes.py), not after its slowest delivery."""
        event = asyncio.Event()
        self._listeners.append((target, event))
        return event

    # the hand-off

    def hand_off_to(self, lessee: str, targets: Iterable[Target]) -> None:
        self._lessee, self._serves = lessee, frozenset(targets)

    def stop_hand_off(self) -> None:
        """Rows written from now on wait for a lease (a stopping dispatcher takes no more)."""
        self._lessee = None

    def lessee(self, target: Target) -> str | None:
        """Who a row for `target` is leased to as it is written, if anyone."""
        return self._lessee if target in self._serves else None

    def handed(self, deliveries: list[Delivery]) -> None:
        """Rows committed leased by this process: the dispatcher delivers them as they are."""
        for delivery in deliveries:
            assert delivery.item is not None
            self._handed.setdefault(delivery.item.target, []).append(delivery)
        if not in_dispatcher.get():  # the dispatcher's own: taken in the pass it is in
            self._signal({d.item.target for d in deliveries if d.item is not None})

    def has_handed(self, target: Target | None = None) -> bool:
        return any(self._handed.values()) if target is None else bool(self._handed.get(target))

    def take_all_handed(self) -> list[Delivery]:
        """Every row handed over and not taken (a stopping dispatcher puts them back)."""
        rows = [delivery for target_rows in self._handed.values() for delivery in target_rows]
        self._handed.clear()
        return rows

    def take_handed(self, target: Target, limit: int, busy: Collection[int] = ()) -> list[Delivery]:
        """Up to `limit` rows for `target` in the order they were written, one per ticket and none
        of the `busy` tickets (a row of theirs is in hand): a ticket's next row waits for the one
        before it, as a lease would take them, and a chatty ticket never fills a batch."""
        taken: list[Delivery] = []
        kept: list[Delivery] = []
        skip = set(busy)
        for delivery in self._handed.get(target, []):
            assert delivery.item is not None
            ticket = delivery.item.ticket_id
            if len(taken) < limit and (ticket is None or ticket not in skip):
                taken.append(delivery)
            else:
                kept.append(delivery)
            if ticket is not None:
                skip.add(ticket)  # its later rows wait behind this one
        self._handed[target] = kept
        return taken

    def _signal(self, targets: Collection[Target]) -> None:
        self.wake.set()
        for target, event in self._listeners:
            if target in targets:
                event.set()
