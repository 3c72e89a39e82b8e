"""SQLite for the units of work: SQLAlchemy's synchronous pysqlite run on the event loop while
that cannot block it, in a thread when it waits for the disk.

SQLAlchemy's asyncio layer costs about 200 microseconds of CPU a statement here (a greenlet and
a thread hop each), where SQLite answers an indexed statement in a few; it was most of what a
relayed message cost (bench/relay.py). So a unit of work on SQLite holds a plain Connection:
- BEGIN IMMEDIATE is tried on the loop without waiting (busy timeout 0). While another
  connection holds the write lock it is tried again after a short sleep, as SQLite's own busy
  handler would, without holding the loop or a thread.
- Inside the transaction the write lock is ours and statements run on the loop. A read that
  runs past READ_BUDGET_S is stopped by SQLite's progress handler (a stopped read changes
  nothing and keeps the transaction) and runs again in the thread: a long report never holds
  the loop.
- COMMIT runs on the loop with synchronous=NORMAL: it writes the log (no wait for the disk),
  and the transaction is visible to every connection and survives a crash of the process. A
  durable commit then syncs the log in the thread (fdatasync, what synchronous=FULL does at
  commit) before it returns. A relay's unit of work (early_hand_off) hands its outbox rows to
  the dispatcher in between (`commit(visible=...)`), so the post overlaps the sync: only a
  power cut in that millisecond could undo a row already relayed, and the platform still holds
  the message (Discord's catch-up, Slack's retry of an event not yet answered), so it would be
  relayed again, never lost. Other units of work of this process wait for the sync (the turn
  is held until the unit ends). A unit of work opened with durable=False (the dispatcher's
  settle) does not sync: the next durable commit or the checkpoint does.
- These connections never checkpoint as they commit (wal_autocheckpoint 0: it would copy the
  log into the database on the loop); the thread checkpoints within CHECKPOINT_WITHIN_S of any
  commit, which also syncs what unsynced commits wrote.
- A unit of work in autocommit gets a transaction all the same: its one statement then costs
  one commit, as a statement that commits by itself would.
Nothing sent to the thread waits for a lock. What a cancelled task left running there (a sync,
a long read) is followed there by the rollback and the return to the pool, in that order.
Everything else (migrations, reports, tests' own queries) uses the aiosqlite engine.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Self, TypeVar

from sqlalchemy import Connection, create_engine, event
from sqlalchemy.engine import CursorResult, Dialect
from sqlalchemy.exc import OperationalError

from storage.options import DURABLE

READ_BUDGET_S = 0.002
CHECKPOINT_WITHIN_S = 0.2
IDLE_KEPT = 4  # connections of ended units kept open: checking one out cost more than a statement
T = TypeVar("T")


class LoopEngine:
    """A synchronous engine on the same file, and the one thread for what waits for the disk."""

    def __init__(self, url: str, busy_timeout_s: float) -> None:
        # timeout 0: never wait in SQLite's busy handler, on the loop or in the thread; no limit
        # to the pool's overflow: a checkout waiting on the loop would wait for itself
        self.engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 0},
                                    pool_reset_on_return=None, max_overflow=-1)
        self.busy_timeout_s = busy_timeout_s
        self._thread: ThreadPoolExecutor | None = None
        self._checkpoint: asyncio.TimerHandle | None = None
        self._idle: list[Connection] = []
        self._log_path = os.path.abspath(f"{self.engine.url.database}-wal")
        self._log: tuple[int, int] | None = None  # the log file, open: descriptor, inode (sync_log)

        @event.listens_for(self.engine, "connect")
        def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # BEGIN is ours (LoopConnection._begin)
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            dbapi_connection.execute("PRAGMA foreign_keys=ON")
            dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")  # the thread checkpoints
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")  # a durable commit syncs in the thread

    def __call__(self) -> LoopConnection:
        return LoopConnection(self)

    def connection(self) -> Connection:
        return self._idle.pop() if self._idle else self.engine.connect()

    def put_back(self, db: Connection) -> None:
        """A unit's connection, ended (on the loop, or in the thread after a cancelled unit's step)."""
        if db.in_transaction():
            db.rollback()
        if len(self._idle) < IDLE_KEPT:
            self._idle.append(db)
        else:
            db.close()

    @property
    def thread(self) -> ThreadPoolExecutor:
        if self._thread is None:  # again after dispose(), as an engine's pool comes back
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-loop")
        return self._thread

    def checkpoint_soon(self) -> None:
        """A checkpoint in the thread CHECKPOINT_WITHIN_S from now, unless one is due already."""
        if self._checkpoint is None:
            self._checkpoint = asyncio.get_running_loop().call_later(CHECKPOINT_WITHIN_S, self._checkpoint_in_thread)

    def _checkpoint_in_thread(self) -> None:
        self._checkpoint = None
        self.thread.submit(self.checkpoint)

    def log_inode(self) -> int | None:
        """The log file to sync after a commit, asked on the loop (a stat is microseconds); None
        when there is none (checkpointed into the database, synced, and removed)."""
        try:
            return os.stat(self._log_path).st_ino
        except FileNotFoundError:
            return None

    def sync_log(self, inode: int) -> None:
        """In the thread: what synchronous=FULL does at a commit in WAL mode, sync the log file.
        It stays open, so a sync is one system call and the thread takes the interpreter's lock
        only to start and to end, while the loop goes on posting. The first log file, or a new
        one since, is opened first and its name synced too (its directory)."""
        if self._log is None or self._log[1] != inode:
            self._close_log()
            fd = os.open(self._log_path, os.O_RDONLY)
            self._log = (fd, os.fstat(fd).st_ino)
            folder = os.open(os.path.dirname(self._log_path), os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
        _sync_data(self._log[0])

    def _close_log(self) -> None:
        if self._log is not None:
            os.close(self._log[0])
            self._log = None

    def checkpoint(self) -> None:
        # it syncs the log before it copies the log into the database
        with self.engine.connect() as db:
            db.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def dispose(self) -> None:
        if self._checkpoint is not None:
            self._checkpoint.cancel()
            self._checkpoint = None
            self.thread.submit(self.checkpoint)
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None
        self._close_log()
        while self._idle:
            self._idle.pop().close()
        self.engine.dispose()


class LoopConnection:
    """What a unit of work uses of an AsyncConnection: start, execute, execution_options
    (isolation_level="AUTOCOMMIT"), commit, rollback, close, dialect."""

    def __init__(self, owner: LoopEngine) -> None:
        self._owner = owner
        self._db: Connection | None = None
        self._in_flight: Future[Any] | None = None  # sent to the thread and maybe not done
        self._durable = True

    @property
    def dialect(self) -> Dialect:
        return self._owner.engine.dialect

    async def start(self) -> Self:
        self._db = self._owner.connection()
        return self

    async def execution_options(self, **options: Any) -> Self:
        # autocommit: a transaction all the same (see the module's docstring)
        self._durable = options.get(DURABLE, True)
        return self

    @property
    def _raw(self) -> sqlite3.Connection:
        assert self._db is not None, "start() first"
        return self._db.connection.dbapi_connection  # type: ignore[return-value]

    async def execute(self, statement: Any, parameters: Any = None) -> CursorResult[Any]:
        assert self._db is not None, "start() first"
        raw = self._raw
        if not raw.in_transaction:
            await self._begin(raw)
        if getattr(statement, "is_select", False):
            until = time.perf_counter() + READ_BUDGET_S
            raw.set_progress_handler(lambda: time.perf_counter() > until, 1000)
            try:
                return self._db.execute(statement, parameters)
            except OperationalError as error:
                if getattr(error.orig, "sqlite_errorcode", None) != sqlite3.SQLITE_INTERRUPT:
                    raise
            finally:
                raw.set_progress_handler(None, 0)
            return await self._in_thread(self._db.execute, statement, parameters)  # a long read
        return self._db.execute(statement, parameters)

    async def _begin(self, raw: sqlite3.Connection) -> None:
        waited, pause = 0.0, 0.001
        while True:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode != sqlite3.SQLITE_BUSY or waited >= self._owner.busy_timeout_s:
                    raise
            await asyncio.sleep(pause)  # another connection writes
            waited, pause = waited + pause, min(pause * 2, 0.025)

    async def commit(self, visible: Callable[[], None] | None = None) -> None:
        """Commit; `visible` is called once other connections see the transaction, before a
        durable commit waits for the disk."""
        assert self._db is not None, "start() first"
        wrote = self._raw.in_transaction
        self._db.commit()  # written to the log, not synced (synchronous=NORMAL)
        if visible is not None:
            visible()
        if wrote:
            self._owner.checkpoint_soon()
            if self._durable and (log := self._owner.log_inode()) is not None:
                await self._in_thread(self._owner.sync_log, log)

    async def rollback(self) -> None:
        if self._db is not None:
            self._after_thread(self._db.rollback)  # writes nothing to disk

    async def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            self._after_thread(lambda: self._owner.put_back(db))

    def _after_thread(self, step: Callable[[], object]) -> None:
        """On the loop, or in the thread once the step a cancelled task left there has ended."""
        in_flight = self._in_flight
        if in_flight is not None and not in_flight.done():
            in_flight.add_done_callback(lambda _done: step())
        else:
            step()

    async def _in_thread(self, step: Callable[..., T], *args: Any) -> T:
        self._in_flight = self._owner.thread.submit(step, *args)
        return await asyncio.wrap_future(self._in_flight)


_sync_data = getattr(os, "fdatasync", os.fsync)  # macOS has no fdatasync
