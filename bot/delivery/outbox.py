"""The outbox dispatcher: delivers every row through its platform port, retries until delivered.
Rows handed over in memory go as they are, others are leased first (bot/delivery/leases.py); each
delivery is settled (delivered, retry at, given up) in a transaction of its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.delivery.effects import emit
from bot.delivery.lanes import first_then_side_by_side, in_lanes, in_turn
from bot.delivery.leases import Heartbeat, back_in_line, lease_due, own_commits, put_back, release_dead
from bot.delivery.new_rows import NewRows
from bot.domain import Message, MessageKind, OutboxItem, OutboxStatus, Target
from bot.ports import Clock, Delivery, DeliveryPort, RetryLater, Undeliverable, UnitOfWorkFactory

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(minutes=30)
MAX_ATTEMPTS = 60  # with the 30-minute cap, about a day of retries before a row is parked as dead

# what a delivered row's platform id becomes on the ticket
TICKET_REFS = {(Target.CUSTOMER, "open_thread"): "customer_thread_ref", (Target.STAFF, "card"): "staff_thread_ref"}
DELIVERED, FAILING = "white_check_mark", "hourglass_flowing_sand"


def backoff(attempts: int, retry_after: float | None) -> timedelta:
    if retry_after is not None:
        return timedelta(seconds=max(retry_after, 1.0))  # never 0: a row must not spin
    return min(timedelta(seconds=2 ** min(attempts, 16)), MAX_BACKOFF)


class Dispatcher:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, ports: dict[Target, DeliveryPort],
                 wake: asyncio.Event | None = None, parallel: bool = True, owner: str = "local",
                 owner_is_dead: Callable[[str], bool] = lambda owner: False,
                 new_rows: NewRows | None = None) -> None:
        self.uow, self.clock, self.ports = uow, clock, ports
        # which targets other tasks' commits added rows for: a pass leases only those
        self.new_rows = new_rows
        # per target, set by commits that add rows: a pass delivering in lanes takes them at once
        self._arrivals = {t: new_rows.listen(t) for t in ports} if new_rows is not None else {}
        # who holds a lease (supportbot/process_identity.py), and whether a holder is known dead
        self.owner, self.owner_is_dead = owner, owner_is_dead
        if new_rows is not None:  # rows written here for these platforms come leased to us, in memory
            new_rows.hand_off_to(owner, ports)
        # platforms served side by side; the console turns it off for a transcript in a fixed order
        self.parallel = parallel
        # set by the unit of work after every commit (see supportbot/bootstrap.py)
        self.wake = wake or asyncio.Event()
        self._stopping = False
        self._queued: set[Target] = set()  # targets this pass's settles queued rows for
        self._left_behind: set[Target] = set()  # targets whose last lease left rows behind its rows
        # (ticket, target) whose delivery failed here: a row handed over before that was settled
        # may now be behind a row waiting for its retry, and goes back to waiting if it is
        self._stalled: set[tuple[int, Target]] = set()
        # whether this pass leased rows or put some back to wait: the next due time may have moved
        self._due_moved = True

    def stop(self) -> None:
        """Finish the delivery in hand, then leave run_forever (a clean shutdown)."""
        self._stopping = True
        if self.new_rows is not None:
            self.new_rows.stop_hand_off()
        self.wake.set()

    async def _lease(self, limit: int, target: Target) -> list[Delivery]:
        self._due_moved = True
        deliveries, left_behind = await lease_due(self.uow, self.clock.now(), self.owner, limit, target)
        if left_behind:
            self._left_behind.add(target)
        return deliveries

    async def _deliver(self, delivery: Delivery) -> None:
        item = delivery.item
        assert item is not None
        stalled = (item.ticket_id, item.target)
        if item.ticket_id is not None and stalled in self._stalled:
            if await back_in_line(self.uow, item):
                self._due_moved = True
                return
            self._stalled.discard(stalled)  # the way is clear again for the ticket
        ref, error, retry_after, dead = None, None, None, False
        try:
            ref = await self.ports[item.target].deliver(delivery)
        except RetryLater as exc:
            error, retry_after = str(exc) or "retry later", exc.retry_after
        except Undeliverable as exc:
            error, dead = str(exc) or "undeliverable", True
        except Exception as exc:  # a bug in an adapter must not stop every other delivery
            log.exception("outbox row %s (%s %s) failed", item.id, item.target, item.action)
            error = f"{type(exc).__name__}"
        await self._settle(item, delivery.message, ref, error, retry_after, dead)

    async def _settle(self, item: OutboxItem, message: Message | None, ref: str | None, error: str | None,
                      retry_after: float | None, dead: bool) -> None:
        """Record the outcome. The row is ours while leased, so it is written as we hold it."""
        now = self.clock.now()
        relayed_answer = (message is not None and message.kind is MessageKind.STAFF
                          and item.target is Target.CUSTOMER and item.action == "post")
        # a relayed answer gets a reaction in the staff thread: delivered, or failing at its first failure
        reacting = relayed_answer and (error is None or item.attempts == 1)
        ticket_ref = self._ticket_ref_column(item, ref) if error is None else None
        # Most rows: the settle alone, one statement that commits by itself. Not synced to the disk
        # before it returns: a power cut that undoes it brings the row back as an interrupted
        # delivery, and its port looks before it sends again.
        async with self.uow(autocommit=not (reacting or ticket_ref), durable=False) as uow, own_commits():
            if error is None:
                item.status, item.delivered_at, item.ref, item.last_error = OutboxStatus.DELIVERED, now, ref, None
                if ticket_ref:
                    assert item.ticket_id is not None and ref is not None
                    await uow.tickets.set_ref(item.ticket_id, ticket_ref, ref)
            else:
                item.last_error = error[:500]
                if dead or item.attempts >= MAX_ATTEMPTS:
                    item.status = OutboxStatus.DEAD
                    log.error("outbox row %s (%s %s) given up after %s attempts: %s",
                              item.id, item.target, item.action, item.attempts, error)
                else:
                    item.next_attempt_at = now + backoff(item.attempts, retry_after)
                    log.warning("outbox row %s (%s %s) failed, retry at %s: %s",
                                item.id, item.target, item.action, item.next_attempt_at, error)
            if reacting:
                shown: dict[str, Any] = {"name": DELIVERED, "remove": FAILING} if error is None else {"name": FAILING}
                await emit(uow, now, Target.STAFF, "react", None, message, **shown)
            if not await uow.outbox.settle(item, self.owner):  # a post's ref goes on its message too
                # the lease ran out (a stalled heartbeat) and another process took the row over
                log.warning("outbox row %s: lease lost during delivery; its new holder settles it", item.id)
                return
            await uow.commit()
        if error is not None:
            self._due_moved = True
            if item.status is OutboxStatus.PENDING and item.ticket_id is not None:
                self._stalled.add((item.ticket_id, item.target))  # rows handed over behind it wait for it
        if reacting and not self._has_handed(Target.STAFF):
            self._queued.add(Target.STAFF)  # written for a lease to take: in this pass

    async def release_stale_leases(self) -> int:
        return await release_dead(self.uow, self.clock.now(), self.owner, self.owner_is_dead)

    @staticmethod
    def _ticket_ref_column(item: OutboxItem, ref: str | None) -> str | None:
        column = TICKET_REFS.get((item.target, item.action))
        return column if ref is not None and item.ticket_id else None

    async def run_once(self, limit: int = 50, everywhere: bool = False) -> int:
        """Deliver what is due now, until nothing is; returns how many rows were attempted.
        Each platform is served by its own loop, so Slack's pacing (a post a second per
        channel) or an outage never holds back Discord, and the other way round. Rows handed
        over in memory go first; a lease looks only at the platforms that got other rows when
        that is known (`new_rows`), unless `everywhere` (rows that came due by time, not by a commit)."""
        total = 0
        claim = self.new_rows.take() if self.new_rows is not None else None  # taken: this pass looks
        if everywhere:
            claim = None
        targets = [t for t in self.ports if claim is None or t in claim or self._has_handed(t)]
        while targets:
            self._queued.clear()
            self._left_behind.clear()
            runs = {t: self._run_target(t, limit, claim is None or t in claim) for t in targets}
            counts = await (first_then_side_by_side(runs, Target.CUSTOMER) if self.parallel else in_turn(runs))
            total += sum(counts)
            # look again where rows are waiting: behind what was just delivered (the next of a
            # ticket), and where deliveries queued more (reactions to delivered answers)
            targets = [t for t in self.ports if t in self._left_behind or t in self._queued or self._has_handed(t)]
            claim = self._left_behind | self._queued
        return total

    def _has_handed(self, target: Target) -> bool:
        return self.new_rows is not None and self.new_rows.has_handed(target)

    async def _run_target(self, target: Target, limit: int, claim: bool = True) -> int:
        """Deliver the rows handed over for `target`, and (`claim`) those a lease finds due."""
        total = 0
        lane_of = getattr(self.ports[target], "lane", None)
        in_hand: set[int] = set()  # tickets with a handed row in hand: their next waits for it

        def handed(limit: int) -> list[Delivery]:
            if self.new_rows is None:
                return []
            batch = self.new_rows.take_handed(target, limit, in_hand)
            in_hand.update(d.item.ticket_id for d in batch if d.item is not None and d.item.ticket_id is not None)
            return batch

        while True:
            deliveries = handed(limit)
            if not deliveries and claim:
                deliveries = await self._lease(limit, target)
                # a short batch was all there was (run_once looks again if rows wait behind it)
                claim = len(deliveries) >= limit
            if not deliveries:
                break
            held = {d.item_id for d in deliveries}
            total += len(deliveries)
            heartbeat = Heartbeat(self.uow, self.clock, self.owner, held)

            async def deliver(delivery: Delivery, held: set[int] = held) -> None:
                await self._deliver(delivery)
                held.discard(delivery.item_id)  # delivered: no longer renewed
                if delivery.item is not None and delivery.item.ticket_id is not None:
                    in_hand.discard(delivery.item.ticket_id)

            async def more(held: set[int] = held) -> list[Delivery]:
                # with lanes, rows that came due (a ticket's next, a newcomer's first) start as soon
                # as a row is done or a commit adds some, not after the slowest lane of the batch
                # (bot/delivery/lanes.py); only when some may wait, so a lone relay costs no extra lease
                nonlocal total
                if self._stopping or len(held) >= limit:
                    return []
                batch = handed(limit - len(held))
                if not batch and (target in self._left_behind or target in self._queued
                                  or self.new_rows is None or self.new_rows.waiting(target)):
                    batch = await self._lease(limit - len(held), target)
                held.update(d.item_id for d in batch)
                total += len(batch)
                return batch

            try:
                # in order within a lane (rows of one ticket share one): the port may name lanes
                await in_lanes(deliveries, deliver, lane_of, more, self._arrivals.get(target))
            finally:
                await heartbeat.stop()
        return total

    async def run_forever(self, idle_poll: float = 5.0) -> None:
        """Deliver as soon as a commit wakes us; poll only as the fallback for due retries."""
        try:
            await self.release_stale_leases()
        except Exception:
            log.exception("releasing stale outbox leases failed; they expire by themselves")
        woken = False  # the first pass looks everywhere
        due: datetime | None = None
        while not self._stopping:
            self.wake.clear()
            attempted = 0
            try:
                # woken by a commit: its targets; by the clock (a retry came due): everywhere
                self._due_moved = False
                attempted = await self.run_once(everywhere=not woken)
                # a pass that only delivered rows handed over to it left the others as they were
                if self._due_moved or not woken:
                    async with self.uow() as uow:
                        due = await uow.outbox.next_due_at(targets=list(self.ports))
            except Exception:
                log.exception("outbox dispatcher pass failed; retrying")
                due = None
            wait = idle_poll
            if due is not None:
                wait = min(idle_poll, max((due - self.clock.now()).total_seconds(), 0.0))
            if not attempted:
                # rows that look due but wait behind an older row still retrying: do not spin
                wait = max(wait, 1.0)
            try:
                async with asyncio.timeout(wait):  # not wait_for: no task of its own, one wake-up sooner
                    await self.wake.wait()
                woken = True
            except TimeoutError:
                woken = False
        await self._put_back_handed()

    async def _put_back_handed(self) -> None:
        """Stopping: rows handed over but not taken go back to waiting, unleased and never
        attempted, for the next process to lease (not as interrupted deliveries to look up)."""
        if self.new_rows is None:
            return
        rows = [d.item for d in self.new_rows.take_all_handed() if d.item is not None]
        try:
            await put_back(rows, self.uow)
        except Exception:
            log.exception("putting back %s outbox row(s) failed; their leases run out by themselves", len(rows))
