"""Leases on outbox rows: who delivers a row now, and for how long.

A row is leased (next_attempt_at pushed ahead, leased_by set to the process) in one short
transaction, delivered outside any transaction (a platform call must never hold a database
lock), then settled in another, only if the lease is still ours. Leases are short and renewed
by a heartbeat while the batch is in hand, so a process that dies holds its rows for seconds,
not minutes: another process takes them over when the lease runs out, and a process starting
on the same host releases the leases of dead ones at once (later rows of a ticket wait behind
a leased one, so a long lease would stall the ticket). Rows written by this process may come
leased already (bot/delivery/new_rows.py, the hand-off).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

from bot.delivery.new_rows import in_dispatcher
from bot.domain import OutboxItem, Target
from bot.ports import Clock, Delivery, UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=15)
RENEW_EVERY = 5.0  # seconds: three heartbeats per lease


@contextlib.asynccontextmanager
async def own_commits() -> AsyncIterator[None]:
    """Commits made inside are the dispatcher's own: what they add (a reaction to a delivered
    answer) it takes in the same pass, so they wake nobody."""
    token = in_dispatcher.set(True)
    try:
        yield
    finally:
        in_dispatcher.reset(token)


async def lease_due(uow: UnitOfWorkFactory, now: datetime, owner: str, limit: int,
                    target: Target) -> tuple[list[Delivery], bool]:
    """Lease due rows and load what their delivery needs, in one short transaction; and whether
    rows of their tickets wait behind them."""
    async with uow() as work, own_commits():
        claimed = await work.outbox.claim_with_context(now, limit, targets=[target])
        if not claimed:
            return [], False  # nothing to commit
        deliveries = []
        for item, ticket, message in claimed:
            assert item.id is not None
            item.attempts += 1
            interrupted = item.leased_by is not None  # leased before and never settled
            item.next_attempt_at, item.leased_by = now + LEASE, owner
            await work.outbox.lease(item)
            deliveries.append(Delivery(item.id, item.action, item.payload, ticket, message, item, interrupted))
        await work.commit()
        return deliveries, work.outbox.left_behind


async def _waiting_again(work: UnitOfWork, item: OutboxItem) -> None:
    """A row leased here and never attempted: unleased and due, as if just written."""
    item.attempts, item.next_attempt_at, item.leased_by = 0, None, None
    await work.outbox.lease(item)


async def back_in_line(uow: UnitOfWorkFactory, item: OutboxItem) -> bool:
    """A row leased here whose ticket's delivery failed meanwhile: if an older row of its ticket
    waits (for its retry), this one goes back to waiting behind it, unleased and due, for a lease
    to take in order: True then. False: nothing older waits, it may go."""
    async with uow() as work, own_commits():
        if not await work.outbox.has_older_pending(item):
            return False
        await _waiting_again(work, item)
        await work.commit()
    return True


async def put_back(items: list[OutboxItem], uow: UnitOfWorkFactory) -> None:
    """Rows leased here and never attempted: waiting again, unleased and due."""
    if not items:
        return
    async with uow() as work, own_commits():
        for item in items:
            await _waiting_again(work, item)
        await work.commit()


async def release_dead(uow: UnitOfWorkFactory, now: datetime, owner: str,
                       owner_is_dead: Callable[[str], bool]) -> int:
    """At start: rows leased by processes known dead are due again now, not when their lease ends."""
    async with uow() as work:
        dead = [o for o in await work.outbox.lease_owners(now) if o != owner and owner_is_dead(o)]
        released = sum([await work.outbox.release(o, now) for o in dead])
        if released:
            await work.commit()
    if released:
        log.info("released %s outbox row(s) leased by stopped process(es) %s", released, ", ".join(dead))
    return released


class Heartbeat:
    """While a batch is in hand, keep its leases ahead of the clock: every RENEW_EVERY seconds,
    renew those of `held` (the ids still in hand). A timer, not a sleeping task, until the first
    renewal is due: most batches are done long before."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, owner: str, held: set[int]) -> None:
        self._uow, self._clock, self._owner, self._held = uow, clock, owner, held
        self._task: asyncio.Task[None] | None = None
        self._timer = asyncio.get_running_loop().call_later(RENEW_EVERY, self._start)

    def _start(self) -> None:
        self._task = asyncio.create_task(self._beat(), name="outbox-lease-heartbeat")

    async def _beat(self) -> None:
        while True:
            if self._held:
                try:
                    async with self._uow() as work:
                        await work.outbox.renew(set(self._held), self._owner, self._clock.now() + LEASE)
                        await work.commit()
                except Exception:
                    log.exception("renewing outbox leases failed; retrying")
            await asyncio.sleep(RENEW_EVERY)

    async def stop(self) -> None:
        self._timer.cancel()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
