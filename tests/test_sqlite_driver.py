"""storage/sqlite_driver.py: aiosqlite with one thread hop a statement behaves as the DBAPI
SQLAlchemy expects: rows, rowcount, RETURNING, executemany, errors translated, and one hop each."""

from __future__ import annotations

from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, update
from sqlalchemy.exc import IntegrityError

from storage.engine import make_engine

_md = MetaData()
_rows = Table("rows", _md, Column("id", Integer, primary_key=True), Column("name", String(20), unique=True))


async def test_statements_round_trip_through_one_thread_hop_each(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/d.db")
    try:
        async with engine.begin() as db:
            await db.run_sync(_md.create_all)
        hops = 0
        queue = aiosqlite.Connection._execute

        async def counted(self: aiosqlite.Connection, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
            nonlocal hops
            hops += 1
            return await queue(self, fn, *args, **kwargs)

        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
        async with engine.begin() as db:
            hops = 0
            new_id = (await db.execute(insert(_rows).returning(_rows.c.id), {"name": "a"})).scalar_one()
            assert hops == 1  # open, execute, fetch and close the cursor: one call in aiosqlite's thread
            await db.execute(insert(_rows), [{"name": "b"}, {"name": "c"}])  # executemany
            changed = await db.execute(update(_rows).where(_rows.c.name != "a").values(name=_rows.c.name + "!"))
            assert changed.rowcount == 2
            assert list(await db.execute(select(_rows.c.id, _rows.c.name).order_by(_rows.c.id))) == [
                (new_id, "a"), (new_id + 1, "b!"), (new_id + 2, "c!")]
        with pytest.raises(IntegrityError):  # the driver's error, translated as SQLAlchemy does
            async with engine.begin() as db:
                await db.execute(insert(_rows), {"name": "a"})
        async with engine.connect() as db:
            assert (await db.execute(select(_rows.c.name).where(_rows.c.name == "a"))).scalar_one() == "a"
    finally:
        await engine.dispose()


async def test_a_streamed_read_opens_the_transaction_too(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/d.db")
    try:
        async with engine.begin() as db:
            await db.run_sync(_md.create_all)
            await db.execute(insert(_rows), [{"name": "a"}, {"name": "b"}])
        async with engine.connect() as db:
            await db.begin()
            names = [row.name async for row in await db.stream(select(_rows.c.name).order_by(_rows.c.name))]
            assert names == ["a", "b"]
            raw = await db.get_raw_connection()
            assert raw.driver_connection is not None and raw.driver_connection._conn.in_transaction
            await db.rollback()
    finally:
        await engine.dispose()
