"""Issue 10: a crash stalls nothing for long. Leases are short, renewed while a delivery runs,
released at once by a process that starts after a dead one on the same host, and a delivery
whose lease was taken over is not settled twice. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta

import pytest

import bot.delivery.leases
from bot.commands import StaffPost
from bot.delivery.leases import LEASE
from bot.delivery.outbox import Dispatcher
from bot.domain import Target
from bot.ports import Delivery, UnitOfWorkFactory
from bot.tickets.conversation import staff_post
from supportbot.process_identity import dead_on_this_host, process_identity
from tests.core_helpers import BOB
from tests.fakes import RecordingPort
from tests.test_outbox_storage import opened, ports


def a_dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(done.stdout)


def test_a_holder_is_dead_when_its_pid_is_gone_or_is_an_earlier_life_of_ours() -> None:
    me = process_identity()
    host = me.split(":")[0]
    is_dead = dead_on_this_host(me)
    assert not is_dead(me)
    assert is_dead(f"{host}:{a_dead_pid()}:0000")
    assert is_dead(f"{host}:{os.getpid()}:0000")  # this pid, another token: a restarted container
    assert not is_dead(f"{host}:{os.getppid()}:0000")  # alive
    assert not is_dead(f"other-host:{a_dead_pid()}:0000")  # can't tell: its lease expires by itself
    assert not is_dead("console")


async def test_rows_of_a_dead_process_are_released_at_start(uow_factory: UnitOfWorkFactory) -> None:
    desk, _ = await opened(uow_factory)
    host = process_identity().split(":")[0]
    dead, alive = f"{host}:{a_dead_pid()}:0000", f"{host}:{os.getppid()}:0000"
    # a process leased everything, then died before delivering
    crashed = Dispatcher(uow_factory, desk.clock, ports(), owner=dead)  # type: ignore[arg-type]
    leased = await crashed._lease(50, Target.STAFF)
    assert leased
    me = process_identity()
    p = ports()
    restarted = Dispatcher(uow_factory, desk.clock, p, owner=me, owner_is_dead=dead_on_this_host(me))  # type: ignore[arg-type]
    assert await restarted.run_once() == 1  # the customer side only: Slack's rows are leased
    assert await restarted.release_stale_leases() == len(leased)
    await restarted.run_once()
    assert len(p[Target.STAFF].delivered) == len(leased)  # at once, not after the lease

    # a live process's leases are left alone
    async with uow_factory() as uow:
        assert await uow.outbox.lease_owners(desk.clock.now()) == []
    other = Dispatcher(uow_factory, desk.clock, ports(), owner=alive)  # type: ignore[arg-type]
    await staff_post(desk, StaffPost(BOB, "e1", "Answer", "ts1", thread_ref="s-1"))
    assert await other._lease(50, Target.CUSTOMER)
    assert await restarted.release_stale_leases() == 0


class SlowPort(RecordingPort):
    """Holds each delivery until released, like a platform call that takes a while."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.started = asyncio.Event()
        self.go_on = asyncio.Event()

    async def deliver(self, delivery: Delivery) -> str | None:
        self.started.set()
        await self.go_on.wait()
        return await super().deliver(delivery)


async def test_a_long_delivery_keeps_its_lease_and_is_delivered_once(
        uow_factory: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bot.delivery.leases, "RENEW_EVERY", 0.01)
    desk, _ = await opened(uow_factory)
    slow = SlowPort("s")
    first = Dispatcher(uow_factory, desk.clock, {Target.STAFF: slow}, owner="a")  # type: ignore[dict-item]
    running = asyncio.create_task(first.run_once())
    await asyncio.wait_for(slow.started.wait(), 10)
    other = ports()
    second = Dispatcher(uow_factory, desk.clock, other, owner="b")  # type: ignore[arg-type]
    for _ in range(3):  # time passes well beyond one lease while the first still delivers
        desk.clock.advance(seconds=LEASE.total_seconds() * 0.8)  # type: ignore[attr-defined]
        await asyncio.sleep(0.1)  # heartbeats run
        await second.run_once()
        assert other[Target.STAFF].delivered == []
    slow.go_on.set()
    await asyncio.wait_for(running, 10)
    desk.clock.advance(seconds=LEASE.total_seconds() * 2)  # type: ignore[attr-defined]
    await second.run_once()
    assert other[Target.STAFF].delivered == [] and [d.action for d in slow.delivered] == ["card"]  # once


async def test_a_delivery_whose_lease_was_taken_over_does_not_settle(uow_factory: UnitOfWorkFactory) -> None:
    desk, _ = await opened(uow_factory)
    first = Dispatcher(uow_factory, desk.clock, ports(), owner="a")  # type: ignore[arg-type]
    [delivery, *_] = await first._lease(50, Target.STAFF)
    desk.clock.advance(seconds=LEASE.total_seconds() + 1)  # type: ignore[attr-defined]  # the heartbeat stalled
    p = ports()
    second = Dispatcher(uow_factory, desk.clock, p, owner="b")  # type: ignore[arg-type]
    await second.run_once()
    assert delivery.item is not None
    await first._settle(delivery.item, delivery.message, "late-ref", None, None, False)  # the first one finishes late
    async with uow_factory() as uow:
        row = await uow.outbox.get(delivery.item_id)
    assert row is not None and row.ref != "late-ref" and row.leased_by is None
    assert timedelta(0) < LEASE <= timedelta(seconds=30)
