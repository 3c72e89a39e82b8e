"""`supportbot backup FILE`: a consistent copy of the SQLite database while the bot runs.

SQLite's online backup API copies the pages in one step inside a read transaction: with WAL the
bot keeps writing meanwhile, and the copy is the database as of one commit. PostgreSQL has its
own tool for this (pg_dump), which we point to rather than wrap.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PG_DUMP_ADVICE = ("DATABASE_URL is PostgreSQL: back it up with pg_dump, e.g. "
                  "`pg_dump --format=custom --file=supportbot.dump DBNAME` "
                  "(restore with pg_restore --clean --dbname=DBNAME supportbot.dump).")


class BackupError(Exception):
    """A sentence for the operator: nothing was written."""


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite DATABASE_URL, None for any other database."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise BackupError(f"DATABASE_URL is not a database URL: {database_url!r}") from None
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise BackupError("DATABASE_URL is an in-memory SQLite database: there is nothing to back up")
    return Path(url.database)


def backup_sqlite(source: Path, target: Path) -> int:
    """Copy `source` to `target` (which must not exist) atomically; returns the size in bytes."""
    if not source.is_file():
        raise BackupError(f"there is no database at {source}")
    if target.exists():
        raise BackupError(f"{target} exists already: choose a new file name (a backup never overwrites)")
    if not target.parent.is_dir():
        raise BackupError(f"the folder {target.parent} does not exist")
    partial = target.with_name(f".{target.name}.partial")
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)  # pages=-1: all in one step, so the copy is one consistent snapshot
            if dst.execute("PRAGMA integrity_check").fetchone() != ("ok",):
                raise BackupError("the copy failed SQLite's integrity check; the database itself may be damaged")
        finally:
            dst.close()
        os.replace(partial, target)  # a backup file is either complete or absent
    except sqlite3.Error as exc:
        raise BackupError(f"the backup failed: {exc}") from None
    finally:
        src.close()
        partial.unlink(missing_ok=True)
    return target.stat().st_size


def run_backup(database_url: str, target: Path) -> int:
    """The command: prints one sentence, returns the exit status."""
    try:
        source = sqlite_path(database_url)
        if source is None:
            print(PG_DUMP_ADVICE)
            return 2
        size = backup_sqlite(source, target)
    except BackupError as exc:
        print(f"supportbot backup: {exc}", file=sys.stderr)
        return 1
    print(f"backed up {source} to {target} ({size // 1024} KiB). Keep ACCESS_ENCRYPTION_KEY with it: "
          "without that key the temporary access in it cannot be read.")
    return 0
