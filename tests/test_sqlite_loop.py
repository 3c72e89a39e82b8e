"""storage/sqlite_loop.py: a unit of work's statements and commit run on the loop, a durable
commit's sync in the thread;
what waits (another writer's lock) waits without holding the loop or the thread; a long read
and a cancelled commit leave the connection as they should."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import sqlite_loop
from storage.engine import make_connection_factory, make_engine
from storage.options import DURABLE
from storage.sqlite_loop import LoopConnection

_md = MetaData()
_rows = Table("rows", _md, Column("id", Integer, primary_key=True), Column("name", String(20), unique=True))


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/d.db")
    async with engine.begin() as db:
        await db.run_sync(_md.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the steps sent to the thread."""
    names: list[str] = []
    original = LoopConnection._in_thread

    async def counting(self: LoopConnection, step: Any, *args: Any) -> Any:
        names.append(getattr(step, "__name__", repr(step)))
        return await original(self, step, *args)

    monkeypatch.setattr(LoopConnection, "_in_thread", counting)
    return names


def connection(engine: AsyncEngine) -> LoopConnection:
    made = make_connection_factory(engine)()
    assert isinstance(made, LoopConnection)
    return made


async def count(engine: AsyncEngine) -> int:
    async with engine.connect() as db:
        return int((await db.execute(select(func.count()).select_from(_rows))).scalar_one())


async def test_statements_and_the_commit_run_on_the_loop_and_the_log_syncs_in_the_thread(
        engine: AsyncEngine, tmp_path: Path, sent: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A durable commit: visible to every connection first (then the unit of work hands its rows
    over), its log synced to the disk in the thread before commit() returns."""
    synced: list[str] = []
    sync = sqlite_loop._sync_data
    monkeypatch.setattr(sqlite_loop, "_sync_data", lambda fd: (synced.append(os.readlink(f"/proc/self/fd/{fd}")),
                                                                sync(fd)))
    seen_then: list[tuple[int, list[str]]] = []
    other = sqlite3.connect(tmp_path / "d.db")

    def visible() -> None:
        seen_then.append((other.execute("SELECT count(*) FROM rows").fetchone()[0], list(sent)))

    db = await connection(engine).start()
    try:
        new_id = (await db.execute(insert(_rows).returning(_rows.c.id), {"name": "a"})).scalar_one()
        assert (await db.execute(select(_rows.c.name).where(_rows.c.id == new_id))).scalar_one() == "a"
        assert sent == []
        await db.commit(visible=visible)
        assert seen_then == [(1, [])]  # seen by another connection before the sync began
        assert sent == ["sync_log"] and synced == [str(tmp_path / "d.db-wal")]
    finally:
        await db.rollback()
        await db.close()
        other.close()
    assert await count(engine) == 1


async def test_a_locked_database_is_waited_for_without_holding_the_loop(engine: AsyncEngine, tmp_path: Path,
                                                                        sent: list[str]) -> None:
    other = sqlite3.connect(tmp_path / "d.db", isolation_level=None)  # another process, writing
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO rows (name) VALUES ('theirs')")

    async def write() -> None:
        db = await connection(engine).start()
        try:
            await db.execute(insert(_rows), {"name": "ours"})
            await db.commit()
        finally:
            await db.close()

    writing = asyncio.create_task(write())
    ticks = 0
    for _ in range(20):
        await asyncio.sleep(0.01)
        ticks += 1
    assert not writing.done() and ticks == 20 and sent == []  # neither the loop nor the thread waits
    other.execute("COMMIT")
    await asyncio.wait_for(writing, 10)
    other.close()
    assert await count(engine) == 2


async def test_a_lock_held_too_long_is_an_error(engine: AsyncEngine, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    other = sqlite3.connect(tmp_path / "d.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    db = connection(engine)
    monkeypatch.setattr(db._owner, "busy_timeout_s", 0.05)
    await db.start()
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await db.execute(insert(_rows), {"name": "ours"})
    finally:
        await db.close()
        other.execute("ROLLBACK")
        other.close()


async def test_a_read_past_its_budget_ends_in_the_thread_in_the_same_transaction(
        engine: AsyncEngine, sent: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    async with engine.begin() as setup:
        await setup.execute(insert(_rows), [{"name": f"n{i}"} for i in range(3000)])
    monkeypatch.setattr(sqlite_loop, "READ_BUDGET_S", 0.0)
    db = await connection(engine).start()
    try:
        await db.execute(insert(_rows), {"name": "mine"})
        read = select(func.count(), func.sum(func.length(_rows.c.name)))  # row by row: the handler runs
        assert tuple((await db.execute(read)).one()) == (3001, sum(len(f"n{i}") for i in range(3000)) + 4)
        assert sent == ["execute"]
        await db.commit()
    finally:
        await db.close()
    assert await count(engine) == 3001


def test_the_log_stays_open_for_its_syncs_and_a_new_log_file_is_opened(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    engine = sqlite_loop.LoopEngine(f"sqlite:///{tmp_path}/d.db", 1.0)
    synced: list[str] = []
    monkeypatch.setattr(sqlite_loop, "_sync_data", lambda fd: synced.append(os.readlink(f"/proc/self/fd/{fd}")))
    log = tmp_path / "d.db-wal"

    def sync() -> None:  # as a durable commit does: the inode on the loop, the sync in the thread
        if (inode := engine.log_inode()) is not None:
            engine.sync_log(inode)

    try:
        sync()
        assert synced == []  # no log file: nothing to sync
        log.write_bytes(b"frames")
        sync()
        opened = engine._log
        sync()
        assert synced == [str(log)] * 2 and engine._log == opened  # opened once
        log.unlink()  # the last connection went, and a new one made a new log file
        log.write_bytes(b"new frames")
        sync()
        assert synced[2:] == [str(log)] and engine._log != opened
    finally:
        engine.dispose()
    assert engine._log is None


@pytest.mark.parametrize("durable", [True, False])
async def test_a_checkpoint_follows_each_commit_in_the_thread(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch,
                                                              sent: list[str], durable: bool) -> None:
    """The connections never checkpoint as they commit (that would copy the log into the database
    on the loop): the thread does, soon after; it also syncs what an unsynced commit wrote."""
    checkpointed = asyncio.Event()
    loop = asyncio.get_running_loop()
    db = connection(engine)
    original = db._owner.checkpoint

    def checkpoint() -> None:
        original()
        loop.call_soon_threadsafe(checkpointed.set)

    monkeypatch.setattr(db._owner, "checkpoint", checkpoint)
    await db.start()
    try:
        await db.execution_options(**{DURABLE: durable})
        await db.execute(insert(_rows), {"name": "a"})
        assert db._raw.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
        assert db._raw.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL: the commit writes, never syncs
        await db.commit()
        assert sent == (["sync_log"] if durable else [])  # a durable commit syncs the log after
    finally:
        await db.close()
    await asyncio.wait_for(checkpointed.wait(), sqlite_loop.CHECKPOINT_WITHIN_S + 5)
    assert await count(engine) == 1
    db = await connection(engine).start()  # the same connection again: durable by default
    try:
        await db.execute(insert(_rows), {"name": "b"})
        await db.commit()
        assert sent[-1:] == ["sync_log"]
    finally:
        await db.close()


async def test_a_commit_whose_task_is_cancelled_ends_before_the_connection_goes_back(
        engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cancelled while its log syncs: the transaction stays committed, and the connection goes
    back to the pool only once the sync in the thread has ended."""
    original = sqlite_loop.LoopEngine.sync_log
    ended: list[str] = []

    def slow_sync(self: sqlite_loop.LoopEngine, inode: int) -> None:
        time.sleep(0.2)  # in the thread
        original(self, inode)
        ended.append("sync")

    monkeypatch.setattr(sqlite_loop.LoopEngine, "sync_log", slow_sync)
    put_back = sqlite_loop.LoopEngine.put_back
    monkeypatch.setattr(sqlite_loop.LoopEngine, "put_back",
                        lambda self, db: (ended.append("put back"), put_back(self, db)))

    async def write() -> None:
        db = await connection(engine).start()
        try:
            await db.execute(insert(_rows), {"name": "a"})
            await db.commit()
        finally:
            await db.rollback()  # as a unit of work leaves: queued behind the sync in flight
            await db.close()

    writing = asyncio.create_task(write())
    await asyncio.sleep(0.05)
    writing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await writing
    assert ended == []  # the sync still runs: the connection is not back yet
    await asyncio.sleep(0.4)
    assert ended == ["sync", "put back"]
    db = await connection(engine).start()  # the pool's connection is clean and usable
    try:
        await db.execute(insert(_rows), {"name": "b"})
        await db.commit()
    finally:
        await db.close()
    assert await count(engine) == 2


async def test_an_error_inside_the_transaction_is_sqlalchemys(engine: AsyncEngine) -> None:
    db = await connection(engine).start()
    try:
        await db.execute(insert(_rows), {"name": "a"})
        with pytest.raises(Exception, match="UNIQUE"):
            await db.execute(insert(_rows), {"name": "a"})
        with pytest.raises(OperationalError):
            await db.execute(select(Table("missing", MetaData(), Column("x", Integer))))
    finally:
        await db.rollback()
        await db.close()
    assert await count(engine) == 0
