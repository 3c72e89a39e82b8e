"""The sweep through the SQL storage, on SQLite and PostgreSQL: the timeline, a restart in
the middle of it, and (PostgreSQL) two sweepers racing over 1,000 due tickets."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.commands import CustomerPost, StaffPost
from bot.customers.accounts import link_account
from bot.customers.licences import StoredLicences
from bot.desk import Desk
from bot.domain import CloseReason, Licence, Ticket, TicketStatus
from bot.errors import Refusal
from bot.policy import Policy
from bot.ports import UnitOfWorkFactory
from bot.tickets.conversation import customer_post, staff_post
from bot.tickets.opening import open_ticket
from bot.time import deadlines
from bot.time.clock import ManualClock
from bot.time.timers import sweep
from storage.engine import make_connection_factory, make_engine
from storage.models import outbox, reminder_ledger
from storage.uow import sql_uow_factory
from tests.core_helpers import ALICE, BOB, form, link, make_policy

LEADS = ("U-LEAD1",)
# Friday 4 December 2026 16:30 GMT+1 (the default calendar): warning Monday 10:30, due 11:30
OPENED = datetime(2026, 12, 4, 15, 30, tzinfo=UTC)
WARN_AT = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
DUE_AT = datetime(2026, 12, 7, 10, 30, tzinfo=UTC)
LICENCES = (
    Licence("SEO-ALICE", "alice@example.com", "seo-suite", datetime(2027, 6, 1, tzinfo=UTC)),
    Licence("SEO-ALICE-OLD", "alice@example.com", "seo-suite", datetime(2026, 12, 20, tzinfo=UTC)),
)


def policy(**overrides: object) -> Policy:
    return make_policy(leads=LEADS, **overrides)


def sql_desk(uow: UnitOfWorkFactory, clock: ManualClock, pol: Policy | None = None) -> Desk:
    return Desk(uow, clock, pol or policy(), StoredLicences(uow))


@asynccontextmanager
async def another_process(db_url: str, clock: ManualClock, pol: Policy | None = None) -> AsyncIterator[Desk]:
    """A desk over its own engine: what a restarted (or second) bot process sees."""
    engine = make_engine(db_url)
    try:
        yield sql_desk(sql_uow_factory(make_connection_factory(engine)), clock, pol)
    finally:
        await engine.dispose()


async def import_licences(uow_factory: UnitOfWorkFactory, *licences: Licence) -> None:
    async with uow_factory() as uow:
        for licence in licences:
            await uow.licences.upsert(licence)
        await uow.commit()


async def sent(engine: AsyncEngine) -> Counter[tuple[int | None, str, str | None]]:
    """Outbox rows per (ticket, action, text key); a transcript's key is its audience (one per side)."""
    async with engine.connect() as connection:
        rows = (await connection.execute(select(outbox.c.ticket_id, outbox.c.action, outbox.c.payload))).all()
    return Counter((t, a, (p.get("text") or {}).get("key") or p.get("audience")) for t, a, p in rows)


def keys(counts: Counter[tuple[int | None, str, str | None]]) -> Counter[str | None]:
    result: Counter[str | None] = Counter()
    for (_, _, key), n in counts.items():
        result[key] += n
    return result


async def stored(uow_factory: UnitOfWorkFactory, number: int) -> Ticket:
    async with uow_factory() as uow:
        ticket = await uow.tickets.get(number)
    assert ticket is not None
    return ticket


async def opened_ticket(desk: Desk) -> int:
    desk.clock.set(OPENED)  # type: ignore[attr-defined]
    await link_account(desk, link())
    return (await open_ticket(desk, form())).number


async def sweep_at(desk: Desk, at: datetime, times: int = 2) -> int:
    desk.clock.set(at)  # type: ignore[attr-defined]
    return sum([await sweep(desk) for _ in range(times)])


async def test_timeline_through_sql_storage(uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine) -> None:
    await import_licences(uow_factory, *LICENCES)
    desk = sql_desk(uow_factory, ManualClock(OPENED))
    n = await opened_ticket(desk)
    t = await stored(uow_factory, n)
    # the newest licence of the product is the one behind the ticket
    assert (t.sla_warn_at, t.sla_due_at, t.licence_expires_at) == (WARN_AT, DUE_AT, LICENCES[0].expires_at)

    assert await sweep_at(desk, WARN_AT - timedelta(minutes=1)) == 0
    assert await sweep_at(desk, WARN_AT) == 1
    assert keys(await sent(db_engine))["sla_warning"] == 1
    assert await sweep_at(desk, DUE_AT) == 1
    t = await stored(uow_factory, n)
    assert t.overdue_since == DUE_AT and t.sla_due_at is None
    counts = await sent(db_engine)
    assert keys(counts)["sla_breach"] == 1 and counts[(n, "card_update", None)] == 1

    answered = DUE_AT + timedelta(hours=3)
    desk.clock.set(answered)  # type: ignore[attr-defined]
    await staff_post(desk, StaffPost(BOB, "ev-1", "Please regenerate it.", "ts-1", ticket_number=n))
    assert await sweep_at(desk, answered + timedelta(days=7)) == 1
    assert await sweep_at(desk, answered + timedelta(days=25)) == 1
    assert await sweep_at(desk, answered + timedelta(days=28) - timedelta(seconds=1)) == 0
    assert await sweep_at(desk, answered + timedelta(days=28)) == 1
    t = await stored(uow_factory, n)
    assert t.status is TicketStatus.CLOSED and t.close_reason is CloseReason.INACTIVITY
    assert await sweep_at(desk, answered + timedelta(days=400)) == 0
    per_key = keys(await sent(db_engine))
    for key in ("sla_warning", "sla_breach", "nudge", "autoclose_warning", "closed_inactivity", "autoclosed_note"):
        assert per_key[key] == 1, key


async def test_licence_expiry_through_sql_storage(uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine) -> None:
    short = Licence("SEO-ALICE", "alice@example.com", "seo-suite", datetime(2026, 12, 10, tzinfo=UTC))
    await import_licences(uow_factory, short)
    desk = sql_desk(uow_factory, ManualClock(OPENED))
    n = await opened_ticket(desk)
    await sweep_at(desk, short.expires_at - timedelta(seconds=1))
    assert (await stored(uow_factory, n)).is_open
    await sweep_at(desk, short.expires_at)
    t = await stored(uow_factory, n)
    assert t.close_reason is CloseReason.LICENCE_EXPIRED
    per_key = keys(await sent(db_engine))
    assert per_key["closed_licence_expired"] == per_key["licence_expired_note"] == 1


async def test_a_renewed_licence_row_keeps_the_ticket_open(uow_factory: UnitOfWorkFactory,
                                                           db_engine: AsyncEngine) -> None:
    short = Licence("SEO-ALICE", "alice@example.com", "seo-suite", datetime(2026, 12, 10, tzinfo=UTC))
    await import_licences(uow_factory, short)
    desk = sql_desk(uow_factory, ManualClock(OPENED))
    n = await opened_ticket(desk)
    renewal = Licence("SEO-ALICE-2027", "alice@example.com", "seo-suite", datetime(2027, 12, 10, tzinfo=UTC))
    await import_licences(uow_factory, renewal)
    await sweep_at(desk, short.expires_at + timedelta(hours=1))
    t = await stored(uow_factory, n)
    assert t.is_open and t.licence_expires_at == renewal.expires_at
    assert keys(await sent(db_engine))["licence_expired_note"] == 0


async def test_a_restart_catches_up_once_on_what_fell_due_while_down(
    db_url: str, uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    await import_licences(uow_factory, *LICENCES)
    clock = ManualClock(OPENED)
    async with another_process(db_url, clock) as first:
        n = await opened_ticket(first)
        assert await sweep_at(first, WARN_AT) == 1
    # down from 10:30 to 15:00 Monday: the breach fell due at 11:30
    back = DUE_AT + timedelta(hours=3, minutes=30)
    async with another_process(db_url, clock) as second:
        assert await sweep_at(second, back, times=3) == 1
        t = await stored(second.uow, n)
        assert t.overdue_since == DUE_AT
        clock.set(back)
        await staff_post(second, StaffPost(BOB, "ev-1", "Try this.", "ts-1", ticket_number=n))
    # down for five weeks: the nudge, the auto-close warning and the auto-close all fell due
    async with another_process(db_url, clock) as third, another_process(db_url, clock) as fourth:
        assert await sweep_at(third, back + timedelta(days=35)) == 3
        assert await sweep_at(fourth, back + timedelta(days=35)) == 0
        assert await sweep_at(third, back + timedelta(days=36)) == 0
    assert (await stored(uow_factory, n)).close_reason is CloseReason.INACTIVITY
    per_key = keys(await sent(db_engine))
    for key in ("sla_warning", "sla_breach", "nudge", "autoclose_warning", "closed_inactivity", "autoclosed_note"):
        assert per_key[key] == 1, key


def _due_ticket(account_id: int, number: int, at: datetime, pol: Policy) -> Ticket:
    ticket = Ticket(
        account_id=account_id, customer_platform="discord", customer_user_id=f"u-{number}",
        customer_name=f"Customer {number}", customer_email="alice@example.com", product="seo-suite",
        subject=f"Question {number}", magento_version="2.4.6", module_version="1.3.0", description="-",
        steps="-", changes="-", errors="", opened_at=at, licence_expires_at=datetime(2030, 1, 1, tzinfo=UTC),
        staff_channel="support-seo",
    )
    deadlines.await_staff(ticket, at, pol, first=True)
    if number % 2:  # half of them answered: nudge, auto-close warning and auto-close due
        deadlines.await_customer(ticket, at, pol)
    return ticket


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_two_sweepers_race_over_1000_due_tickets(db_url: str, uow_factory: UnitOfWorkFactory,
                                                       db_engine: AsyncEngine) -> None:
    pol = policy()
    async with uow_factory() as uow:
        account = await uow.accounts.get_or_create("alice@example.com")
        assert account.id is not None
        for number in range(1000):
            await uow.tickets.add(_due_ticket(account.id, number, OPENED, pol))
        await uow.commit()
    clock = ManualClock(OPENED + timedelta(days=40))
    async with another_process(db_url, clock, pol) as one, another_process(db_url, clock, pol) as two:
        fired = list(await asyncio.gather(sweep(one), sweep(two), sweep(one), sweep(two)))
        fired += list(await asyncio.gather(sweep(one), sweep(two)))
    assert sum(fired) == 500 * 2 + 500 * 3
    assert sum(fired[0::2]) and sum(fired[1::2]), "both sweepers took a share: the race happened"
    counts = await sent(db_engine)
    assert set(counts.values()) == {1}, [k for k, v in counts.items() if v > 1][:5]
    per_key = keys(counts)
    assert per_key["sla_warning"] == per_key["sla_breach"] == 500
    assert per_key["nudge"] == per_key["autoclose_warning"] == per_key["closed_inactivity"] == 500
    async with db_engine.connect() as connection:
        ledger = (await connection.execute(select(func.count()).select_from(reminder_ledger))).scalar_one()
    assert ledger == 2500



class _HookedMessages:
    def __init__(self, inner: Any, hook: list[Callable[[], Awaitable[object]]]) -> None:
        self._inner, self._hook = inner, hook

    async def add_new(self, message: Any, relays: Any = ()) -> Any:
        while self._hook:
            await self._hook.pop()()
        return await self._inner.add_new(message, relays)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _HookedUnitOfWork:
    """A unit of work that runs `hook` (once) inside the transaction, just after the use case
    has read its ticket: what another process committing at that moment looks like."""

    def __init__(self, inner: Any, hook: list[Callable[[], Awaitable[object]]]) -> None:
        self._inner, self._hook = inner, hook

    async def __aenter__(self) -> _HookedUnitOfWork:
        await self._inner.__aenter__()
        self.messages = _HookedMessages(self._inner.messages, self._hook)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._inner.__aexit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_a_customer_message_racing_the_autoclose_never_reopens_a_closed_ticket(
    db_url: str, uow_factory: UnitOfWorkFactory, db_engine: AsyncEngine
) -> None:
    await import_licences(uow_factory, *LICENCES)
    clock = ManualClock(OPENED)
    desk = sql_desk(uow_factory, clock)
    n = await opened_ticket(desk)
    await staff_post(desk, StaffPost(BOB, "ev-1", "Try this.", "ts-1", ticket_number=n))
    clock.advance(days=28)  # the auto-close is due; the other process sweeps it while Alice writes
    async with another_process(db_url, clock) as other:
        hook: list[Callable[[], Awaitable[object]]] = [lambda: sweep(other)]
        racing = dataclasses.replace(desk, uow=lambda **options: _HookedUnitOfWork(uow_factory(**options), hook))  # type: ignore[arg-type, return-value]
        await customer_post(racing, CustomerPost(ALICE, "m-1", "Sorry, still broken!", ticket_number=n))
        assert not hook  # the other process swept while the message was being stored
    # customer_post holds the ticket's row lock, so the other sweeper skips it (SKIP LOCKED):
    # the customer's reply wins, and the state matches what everyone was told
    counts = await sent(db_engine)
    t = await stored(uow_factory, n)
    assert counts.get((n, "post", "closed_inactivity"), 0) == counts.get((n, "lock", None), 0) == 0
    assert t.status is TicketStatus.AWAITING_STAFF and t.autoclose_at is None
    clock.advance(days=1)
    await sweep(desk)
    assert (await stored(uow_factory, n)).status is TicketStatus.AWAITING_STAFF


async def test_concurrent_opens_on_one_subject_give_one_ticket(db_url: str, uow_factory: UnitOfWorkFactory) -> None:
    """Six processes open the same subject for one customer at once: one ticket, five pointers to it."""
    await import_licences(uow_factory, *LICENCES)
    clock = ManualClock(OPENED)
    await link_account(sql_desk(uow_factory, clock), link())
    engines = [make_engine(db_url) for _ in range(6)]
    together = asyncio.Barrier(6)  # every open checks its licence, then all go on at once

    class Together(StoredLicences):
        async def for_email(self, email: str) -> list[Licence]:
            found = list(await super().for_email(email))
            await together.wait()
            return found

    try:
        desks = [dataclasses.replace(sql_desk(uow, clock), licences=Together(uow))
                 for uow in (sql_uow_factory(make_connection_factory(e)) for e in engines)]
        results = await asyncio.gather(*(open_ticket(d, form()) for d in desks), return_exceptions=True)
    finally:
        for engine in engines:
            await engine.dispose()
    opened = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, Refusal)]
    assert len(opened) == 1 and len(refused) == 5
    assert all(r.text.key == "duplicate_subject" and r.text.params["number"] == opened[0].number for r in refused)
