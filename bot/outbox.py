"""The outbox dispatcher: delivers every row through its platform port, retries until delivered.

A row is leased (next_attempt_at pushed ahead) in one short transaction, delivered outside any
transaction (a platform call must never hold a database lock), then marked in another. A
process that dies mid-delivery leaves the lease to expire and the row is tried again.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from bot.domain import Message, MessageKind, OutboxItem, OutboxStatus, Target
from bot.effects import emit
from bot.lanes import in_lanes
from bot.ports import Clock, Delivery, DeliveryPort, RetryLater, Undeliverable, UnitOfWorkFactory

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
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
                 wake: asyncio.Event | None = None, parallel: bool = True) -> None:
        self.uow, self.clock, self.ports = uow, clock, ports
        # platforms served side by side; the console turns it off for a transcript in a fixed order
        self.parallel = parallel
        # set by the unit of work after every commit (see supportbot/bootstrap.py)
        self.wake = wake or asyncio.Event()
        self._stopping = False
        self._queued: set[Target] = set()  # targets this pass's settles queued rows for

    def stop(self) -> None:
        """Finish the delivery in hand, then leave run_forever (a clean shutdown)."""
        self._stopping = True
        self.wake.set()

    async def _lease(self, limit: int, target: Target) -> list[Delivery]:
        """Lease due rows and load what their delivery needs, in one short transaction."""
        now = self.clock.now()
        async with self.uow() as uow:
            items = await uow.outbox.claim_due(now, limit, targets=[target])
            if not items:
                return []  # no commit: it would wake the dispatcher again, forever
            deliveries = []
            for item in items:
                assert item.id is not None
                item.attempts += 1
                item.next_attempt_at = now + LEASE
                await uow.outbox.save(item)
                ticket = await uow.tickets.get(item.ticket_id) if item.ticket_id else None
                message = await uow.messages.get(item.message_id) if item.message_id else None
                deliveries.append(Delivery(item.id, item.action, item.payload, ticket, message, item))
            await uow.commit()
        return deliveries

    async def _deliver(self, delivery: Delivery) -> None:
        item = delivery.item
        assert item is not None
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
        async with self.uow() as uow:
            if error is None:
                item.status, item.delivered_at, item.ref, item.last_error = OutboxStatus.DELIVERED, now, ref, None
                await self._record_ref(uow, item, ref)
                if relayed_answer:
                    await emit(uow, now, Target.STAFF, "react", None, message, name=DELIVERED, remove=FAILING)
                    self._queued.add(Target.STAFF)
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
                if relayed_answer and item.attempts == 1:
                    await emit(uow, now, Target.STAFF, "react", None, message, name=FAILING)
                    self._queued.add(Target.STAFF)
            await uow.outbox.save(item)
            await uow.commit()

    @staticmethod
    async def _record_ref(uow, item: OutboxItem, ref: str | None) -> None:  # type: ignore[no-untyped-def]
        if ref is None:
            return
        column = TICKET_REFS.get((item.target, item.action))
        if column and item.ticket_id:
            await uow.tickets.set_ref(item.ticket_id, column, ref)
        if item.message_id and item.action == "post":
            await uow.messages.set_ref(item.message_id, "customer" if item.target is Target.CUSTOMER else "staff", ref)

    async def run_once(self, limit: int = 50) -> int:
        """Deliver what is due now, until nothing is; returns how many rows were attempted.
        Each platform is served by its own loop, so Slack's pacing (a post a second per
        channel) or an outage never holds back Discord, and the other way round."""
        total = 0
        targets = list(self.ports)
        while targets:
            self._queued.clear()
            if self.parallel:
                counts = await asyncio.gather(*(self._run_target(t, limit) for t in targets))
            else:
                counts = [await self._run_target(t, limit) for t in targets]
            total += sum(counts)
            # look again where rows may be waiting: behind what was just delivered (the next of
            # a ticket), and where deliveries queued more (reactions to delivered answers)
            busy = {t for t, n in zip(targets, counts, strict=True) if n}
            targets = [t for t in self.ports if t in busy or t in self._queued]
        return total

    async def _run_target(self, target: Target, limit: int) -> int:
        total = 0
        while deliveries := await self._lease(limit, target):
            # in order within a lane (rows of one ticket share one): the port may name lanes
            await in_lanes(deliveries, self._deliver, getattr(self.ports[target], "lane", None))
            total += len(deliveries)
            if len(deliveries) < limit:
                break  # the batch was all there was; run_once's next pass looks again
        return total

    async def run_forever(self, idle_poll: float = 5.0) -> None:
        """Deliver as soon as a commit wakes us; poll only as the fallback for due retries."""
        while not self._stopping:
            self.wake.clear()
            attempted = 0
            try:
                attempted = await self.run_once()
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
                await asyncio.wait_for(self.wake.wait(), timeout=wait)
            except TimeoutError:
                pass
