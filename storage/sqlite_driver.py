"""aiosqlite for SQLAlchemy, one thread hop per statement instead of four, BEGIN included.

aiosqlite runs SQLite in a thread of its own and SQLAlchemy's adapter awaits that thread for
each cursor call: open the cursor, execute, fetch the rows, close it. Every hop is a queue put,
a thread wake-up and a wake-up of the event loop; they were most of the time a relayed message
spent in the database (bench/relay.py). Here the cursor does its whole statement in one call
run in that thread and keeps what the statement returned (rows, description, rowcount,
lastrowid); everything else is SQLAlchemy's own aiosqlite dialect. It reaches into aiosqlite's
`_execute` (the function queue), as SQLAlchemy's dialect itself does for `isolation_level`.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)


class _Done:
    """A statement run to its end in aiosqlite's thread: what a DBAPI cursor shows of it."""

    arraysize = 1

    def __init__(self, connection: aiosqlite.Connection, adapted: _OneHopConnection) -> None:
        self._connection, self._adapted = connection, adapted
        self.description: Any = None
        self.rowcount: int = -1
        self.lastrowid: int | None = None
        self._rows: list[Any] = []

    def _begin(self, cursor: sqlite3.Cursor) -> None:
        if self._adapted.begin_pending:
            self._adapted.begin_pending = False
            cursor.execute("BEGIN IMMEDIATE")

    def _run(self, operation: str, parameters: Any) -> None:  # in aiosqlite's thread
        cursor = self._connection._conn.cursor()
        try:
            self._begin(cursor)
            cursor.execute(operation, parameters)
            self.description = cursor.description
            self._rows = cursor.fetchall() if cursor.description else []
            self.rowcount, self.lastrowid = cursor.rowcount, cursor.lastrowid
        finally:
            cursor.close()

    async def execute(self, operation: str, parameters: Any = ()) -> None:
        await self._connection._execute(self._run, operation, parameters)

    async def executemany(self, operation: str, seq_of_parameters: Any) -> None:
        def run() -> None:
            cursor = self._connection._conn.cursor()
            try:
                self._begin(cursor)
                cursor.executemany(operation, seq_of_parameters)
                self.description, self.rowcount = cursor.description, cursor.rowcount
            finally:
                cursor.close()
        await self._connection._execute(run)

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def close(self) -> None:
        self._rows = []

    async def __aenter__(self) -> _Done:
        return self


class _OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()

    def _make_new_cursor(self, connection: Any) -> Any:
        return _Done(connection, self._adapt_connection)  # type: ignore[arg-type]


class _OneHopConnection(AsyncAdapt_aiosqlite_connection):
    """`begin_pending`: a transaction was begun (storage/engine.py) and its BEGIN IMMEDIATE goes
    with its first statement, in the same hop; committing or rolling back one that ran nothing
    has nothing to end."""

    __slots__ = ("begin_pending",)
    _cursor_cls = _OneHopCursor
    _ss_cursor_cls = _OneHopCursor  # type: ignore[assignment]  # a streamed result is read whole: BEGIN must go with it too

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self.begin_pending = False

    def commit(self) -> None:
        if self.begin_pending:
            self.begin_pending = False
        else:
            super().commit()

    def rollback(self) -> None:
        if self.begin_pending:
            self.begin_pending = False
        else:
            super().rollback()


class _OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> _OneHopConnection:
        adapted = super().connect(*arg, **kw)
        return _OneHopConnection(self, adapted._connection)


def one_hop_dbapi() -> Any:
    """Passed as create_async_engine's `module`: the DBAPI the aiosqlite dialect drives."""
    return _OneHopDBAPI(aiosqlite, sqlite3)
