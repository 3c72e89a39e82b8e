"""`supportbot backup FILE`: a copy taken while tickets and messages are being written restores
to a database that has every ticket committed before the backup began, each with all its messages."""

from __future__ import annotations

import asyncio
import logging
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain import Message, MessageKind
from supportbot.bootstrap import open_store
from supportbot.cli import main
from tests.test_storage import new_ticket

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
MESSAGES_PER_TICKET = 3


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.delenv("SUPPORTBOT_CONFIG", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/live.db")
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield tmp_path
    root.handlers[:], root.level = saved[0], saved[1]  # main() configured logging onto a capture stream


async def until(condition, within: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(within):
        while not condition():
            await asyncio.sleep(0.01)


async def test_a_backup_taken_under_load_restores_every_ticket_and_message(env: Path) -> None:
    store = await open_store(f"sqlite+aiosqlite:///{env}/live.db")  # migrated, as the bot does at start
    committed: list[int] = []
    stop = asyncio.Event()

    async def write() -> None:  # the bot at work: a ticket and its messages in each transaction
        async with store.uow() as uow:
            account = await uow.accounts.get_or_create("ann@example.com")
            await uow.commit()
        assert account.id is not None
        while not stop.is_set():
            async with store.uow() as uow:
                ticket = await uow.tickets.add(new_ticket(account.id, subject=f"load {len(committed)}"))
                assert ticket.id is not None
                for k in range(MESSAGES_PER_TICKET):
                    await uow.messages.add(Message(ticket.id, MessageKind.CUSTOMER, "u1", "Ann",
                                                   f"ticket {ticket.id} message {k}", NOW))
                await uow.commit()
            committed.append(ticket.id)
            await asyncio.sleep(0)

    writer = asyncio.create_task(write())
    try:
        await until(lambda: len(committed) >= 50)
        before = len(committed)
        status = await asyncio.to_thread(main, ["backup", str(env / "backup.db")])
        after = len(committed)
        await until(lambda: len(committed) >= after + 10)  # the bot went on writing
    finally:
        stop.set()
        await writer
        await store.engine.dispose()
    assert status == 0

    # restore: the backup file becomes the database the bot starts on
    restored = env / "restored.db"
    shutil.copy(env / "backup.db", restored)
    with sqlite3.connect(restored) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    store = await open_store(f"sqlite+aiosqlite:///{restored}")
    try:
        async with store.uow() as uow:
            found = []
            for ticket_id in committed:
                ticket = await uow.tickets.get(ticket_id)
                if ticket is None:
                    break
                messages = await uow.messages.for_ticket(ticket_id)
                assert [m.body for m in messages] == [f"ticket {ticket_id} message {k}"
                                                      for k in range(MESSAGES_PER_TICKET)]
                found.append(ticket_id)
            # the snapshot is a prefix of the commits: all those before the backup, nothing half-written
            assert before <= len(found) <= after
            assert await uow.tickets.get(committed[-1]) is None or len(found) == len(committed)
    finally:
        await store.engine.dispose()


def test_backup_refuses_to_overwrite_and_explains(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    assert main(["backup", str(env / "one.db")]) == 0
    assert "Keep ACCESS_ENCRYPTION_KEY with it" in capsys.readouterr().out
    assert main(["backup", str(env / "one.db")]) == 1
    assert "exists already" in capsys.readouterr().err
    assert main(["backup", str(env / "no-such-folder" / "x.db")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_backup_of_a_missing_database_or_postgresql_says_what_to_do(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["backup", str(env / "x.db")]) == 1
    assert "there is no database at" in capsys.readouterr().err
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://bot:pw@db.example.com/supportbot")
    assert main(["backup", str(env / "x.db")]) == 2
    out = capsys.readouterr().out
    assert "pg_dump" in out and "pw" not in out
    assert not (env / "x.db").exists()
