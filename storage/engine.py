"""Engine and connection factory for SQLite (aiosqlite; pysqlite on the loop for the units of
work) and PostgreSQL (asyncpg)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from storage.sqlite_driver import one_hop_dbapi
from storage.sqlite_loop import LoopEngine

SQLITE_BUSY_TIMEOUT_S = 30


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for `url`; on SQLite every transaction is BEGIN IMMEDIATE so
    concurrent read-modify-write transactions serialize instead of losing updates."""
    if make_url(url).get_backend_name() != "sqlite":
        return create_async_engine(url, **kwargs)
    connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_S, **kwargs.pop("connect_args", {})}
    # no rollback when a connection goes back to the pool: a unit of work always ends its own
    # transaction (and closing a connection rolls back one left open), so it was a call for nothing
    # one thread hop a statement (storage/sqlite_driver.py)
    engine = create_async_engine(url, connect_args=connect_args, pool_reset_on_return=None,
                                 module=one_hop_dbapi(), **kwargs)
    _configure_sqlite(engine)
    loop = _LOOP_ENGINES[engine] = LoopEngine(make_url(url).set(drivername="sqlite").render_as_string(False),
                                              SQLITE_BUSY_TIMEOUT_S)
    event.listen(engine.sync_engine, "engine_disposed", lambda _engine: loop.dispose())
    return engine


# the units of work's engine of each SQLite engine (storage/sqlite_loop.py)
_LOOP_ENGINES: WeakKeyDictionary[AsyncEngine, LoopEngine] = WeakKeyDictionary()


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver: we emit BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Take the write lock up front: a deferred transaction that reads and then
        # writes can neither wait for nor detect a concurrent writer. Sent by the driver
        # with the transaction's first statement (storage/sqlite_driver.py): no hop of its own.
        connection.connection.dbapi_connection.begin_pending = True


def make_connection_factory(engine: AsyncEngine) -> Callable[[], AsyncConnection]:
    """A unit of work runs on a Core connection, not an ORM session: the repositories write SQL
    expressions only, and the session's layer cost about as much CPU as the statements did. On
    SQLite it is a synchronous one on the loop, which does what the units of work use of an
    AsyncConnection (storage/sqlite_loop.py)."""
    loop = _LOOP_ENGINES.get(engine)
    return engine.connect if loop is None else cast(Callable[[], AsyncConnection], loop)


def statement_engines(engine: AsyncEngine) -> list[Engine]:
    """The engines that run `engine`'s statements, for listeners (counts, captured plans)."""
    loop = _LOOP_ENGINES.get(engine)
    return [engine.sync_engine] + ([loop.engine] if loop is not None else [])
