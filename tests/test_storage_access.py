"""The access_grants table through SqlAccessRepository, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from bot.domain import AccessGrant
from bot.ports import UnitOfWorkFactory
from tests.test_storage import T0, assert_utc, make_account, new_ticket

TOKEN = b"gAAAA\x00\xffnot-really-fernet"  # any bytes, including NUL and high bytes


async def two_tickets(uow_factory: UnitOfWorkFactory) -> tuple[int, int]:
    account_id = await make_account(uow_factory)
    async with uow_factory() as uow:
        first = await uow.tickets.add(new_ticket(account_id))
        second = await uow.tickets.add(new_ticket(account_id, subject="Other"))
        await uow.commit()
    return first.number, second.number


async def test_round_trip_keeps_the_bytes_and_the_latest_live_grant(uow_factory: UnitOfWorkFactory) -> None:
    number, _ = await two_tickets(uow_factory)
    async with uow_factory() as uow:
        old = await uow.access.add(AccessGrant(number, b"old", T0 + timedelta(days=1), T0))
        new = await uow.access.add(AccessGrant(number, TOKEN, T0 + timedelta(days=7), T0 + timedelta(hours=1)))
        await uow.commit()
    assert old.id is not None and new.id is not None and new.id != old.id
    async with uow_factory() as uow:
        got = await uow.access.get_for_ticket(number, T0 + timedelta(hours=2))
        after_first_expiry = await uow.access.get_for_ticket(number, T0 + timedelta(days=2))
        none_left = await uow.access.get_for_ticket(number, T0 + timedelta(days=7))
    assert got == AccessGrant(number, TOKEN, T0 + timedelta(days=7), T0 + timedelta(hours=1), new.id)
    assert isinstance(got.ciphertext, bytes)
    assert_utc(got)
    assert after_first_expiry is not None and after_first_expiry.id == new.id
    assert none_left is None  # expires_at is exclusive


async def test_delete_for_ticket_leaves_other_tickets_alone(uow_factory: UnitOfWorkFactory) -> None:
    first, second = await two_tickets(uow_factory)
    async with uow_factory() as uow:
        for ticket in (first, first, second):
            await uow.access.add(AccessGrant(ticket, TOKEN, T0 + timedelta(days=3), T0))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.access.delete_for_ticket(first) == 2
        assert await uow.access.delete_for_ticket(first) == 0
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.access.get_for_ticket(first, T0) is None
        assert await uow.access.get_for_ticket(second, T0) is not None


async def test_expired_lists_oldest_first_and_delete_removes_one(uow_factory: UnitOfWorkFactory) -> None:
    first, second = await two_tickets(uow_factory)
    async with uow_factory() as uow:
        later = await uow.access.add(AccessGrant(first, b"a", T0 + timedelta(days=2), T0))
        sooner = await uow.access.add(AccessGrant(second, b"b", T0 + timedelta(days=1), T0))
        await uow.access.add(AccessGrant(second, b"c", T0 + timedelta(days=9), T0))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.access.expired(T0 + timedelta(hours=23)) == []
        due = await uow.access.expired(T0 + timedelta(days=2))
        assert [g.id for g in due] == [sooner.id, later.id]
        assert [g.id for g in await uow.access.expired(T0 + timedelta(days=2), limit=1)] == [sooner.id]
        assert sooner.id is not None
        await uow.access.delete(sooner.id)
        await uow.commit()
    async with uow_factory() as uow:
        assert [g.id for g in await uow.access.expired(T0 + timedelta(days=2))] == [later.id]
