"""The outbox dispatcher: delivers every row through its platform port, retries until delivered.

A row is leased (next_attempt_at pushed ahead) in one short transaction, delivered outside any
transaction (a platform call must never hold a database lock), then marked in another. A
process that dies mid-delivery leaves the lease to expire and the row is tried again.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from bot.domain import MessageKind, OutboxItem, OutboxStatus, Target
from bot.effects import emit
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
                 wake: asyncio.Event | None = None) -> None:
        self.uow, self.clock, self.ports = uow, clock, ports
        # set by the unit of work after every commit (see supportbot/bootstrap.py)
        self.wake = wake or asyncio.Event()
        self._stopping = False

    def stop(self) -> None:
        """Finish the delivery in hand, then leave run_forever (a clean shutdown)."""
        self._stopping = True
        self.wake.set()

    async def _lease(self, limit: int) -> list[OutboxItem]:
        now = self.clock.now()
        async with self.uow() as uow:
            items = [i for i in await uow.outbox.claim_due(now, limit) if i.target in self.ports]
            if not items:
                return []  # no commit: it would wake the dispatcher again, forever
            for item in items:
                item.attempts += 1
                item.next_attempt_at = now + LEASE
                await uow.outbox.save(item)
            await uow.commit()
        return items

    async def _deliver(self, item: OutboxItem) -> None:
        assert item.id is not None
        async with self.uow() as uow:
            ticket = await uow.tickets.get(item.ticket_id) if item.ticket_id else None
            message = await uow.messages.get(item.message_id) if item.message_id else None
        delivery = Delivery(item.id, item.action, item.payload, ticket, message)
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
        await self._settle(item, ref, error, retry_after, dead)

    async def _settle(self, item: OutboxItem, ref: str | None, error: str | None,
                      retry_after: float | None, dead: bool) -> None:
        now = self.clock.now()
        async with self.uow() as uow:
            fresh = await uow.outbox.get(item.id or 0)
            if fresh is None:
                return
            message = await uow.messages.get(item.message_id) if item.message_id else None
            relayed_answer = message is not None and message.kind is MessageKind.STAFF and item.target is Target.CUSTOMER
            if error is None:
                fresh.status, fresh.delivered_at, fresh.ref, fresh.last_error = OutboxStatus.DELIVERED, now, ref, None
                await self._record_ref(uow, fresh, ref)
                if relayed_answer and item.action == "post":
                    await emit(uow, now, Target.STAFF, "react", None, message, name=DELIVERED, remove=FAILING)
            else:
                fresh.last_error = error[:500]
                if dead or fresh.attempts >= MAX_ATTEMPTS:
                    fresh.status = OutboxStatus.DEAD
                    log.error("outbox row %s (%s %s) given up after %s attempts: %s",
                              fresh.id, fresh.target, fresh.action, fresh.attempts, error)
                else:
                    fresh.next_attempt_at = now + backoff(fresh.attempts, retry_after)
                    log.warning("outbox row %s (%s %s) failed, retry at %s: %s",
                                fresh.id, fresh.target, fresh.action, fresh.next_attempt_at, error)
                if relayed_answer and item.action == "post" and fresh.attempts == 1:
                    await emit(uow, now, Target.STAFF, "react", None, message, name=FAILING)
            await uow.outbox.save(fresh)
            await uow.commit()

    @staticmethod
    async def _record_ref(uow, item: OutboxItem, ref: str | None) -> None:  # type: ignore[no-untyped-def]
        if ref is None:
            return
        column = TICKET_REFS.get((item.target, item.action))
        if column and item.ticket_id:
            ticket = await uow.tickets.get(item.ticket_id)
            if ticket is not None:
                setattr(ticket, column, ref)
                await uow.tickets.save(ticket)
        if item.message_id and item.action == "post":
            message = await uow.messages.get(item.message_id)
            if message is not None:
                setattr(message, "customer_ref" if item.target is Target.CUSTOMER else "staff_ref", ref)
                await uow.messages.save(message)

    async def run_once(self, limit: int = 50) -> int:
        """Deliver what is due now, until nothing is; returns how many rows were attempted."""
        total = 0
        while items := await self._lease(limit):
            for item in items:
                await self._deliver(item)
            total += len(items)
        return total

    async def run_forever(self, idle_poll: float = 5.0) -> None:
        """Deliver as soon as a commit wakes us; poll only as the fallback for due retries."""
        while not self._stopping:
            self.wake.clear()
            attempted = 0
            try:
                attempted = await self.run_once()
                async with self.uow() as uow:
                    due = await uow.outbox.next_due_at()
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
