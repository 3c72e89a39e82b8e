"""Storage shared by processes and tasks: PostgreSQL NOTIFY wake-ups, SQLite turn-taking."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.domain import OutboxItem, Target
from storage.notify import listen_for_outbox
from supportbot.bootstrap import open_store


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_a_commit_in_one_process_wakes_the_other(db_url: str) -> None:
    writer, reader = await open_store(db_url, migrate=False), await open_store(db_url, migrate=False)
    close = await listen_for_outbox(reader.engine, reader.wake.set)
    assert close is not None
    try:
        async with writer.uow() as uow:
            await uow.outbox.add(OutboxItem(Target.STAFF, "post", {}, datetime.now(UTC)))
            await asyncio.sleep(0.2)
            assert not reader.wake.is_set()  # nothing before the commit
            await uow.commit()
        await asyncio.wait_for(reader.wake.wait(), timeout=5)
    finally:
        await close()
        await writer.engine.dispose()
        await reader.engine.dispose()


async def test_sqlite_needs_no_listener(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path}/n.db")
    try:
        assert await listen_for_outbox(store.engine, store.wake.set) is None
    finally:
        await store.engine.dispose()


async def test_a_nested_unit_of_work_on_sqlite_fails_instead_of_waiting_forever(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path}/n.db")
    try:
        async with store.uow():
            with pytest.raises(RuntimeError, match="inside another"):
                async with store.uow():
                    pass
        async with store.uow() as uow:  # the turn was given back
            assert await uow.outbox.next_due_at() is None
    finally:
        await store.engine.dispose()
