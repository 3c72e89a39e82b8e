"""`supportbot console`: the whole flow in one terminal, on the real core and storage.

The console never uses DATABASE_URL: that database may hold the outbox rows of the real Slack and
Discord, and the console would "deliver" them to the terminal. A script plays on a fresh scratch
database; the interactive console keeps ./supportbot-console.db; `--database URL` chooses one,
which must hold no Slack or Discord ticket."""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.console.console import Console
from adapters.console.ports import ConsoleCustomerPort, ConsoleMailPort, ConsoleStaffPort, default_files_dir
from adapters.console.prompt import LineReader
from bot.domain import Target
from bot.time.clock import ManualClock
from supportbot.bootstrap import build_runtime
from supportbot.clock import SystemClock
from supportbot.database_url import DatabaseUnavailable, normalise_database_url, where
from supportbot.settings import Settings
from supportbot.timers_wiring import make_sweep

INTERACTIVE_DATABASE = "sqlite+aiosqlite:///./supportbot-console.db"
PLATFORM = "console"

BANNER = """supportbot console: you play the customers (as on Discord) and the staff (as in Slack).
  licences import examples/licences.csv                     (do this first: the example licences)
  alice: /support link email:alice@example.com key:SEO-1001   alice: /ticket open product:seo-suite subject:"…" …
  alice: any text          staff bob: #1 answer          staff bob: #1 note: internal
  staff bob: #1 /claim     staff bob: #1 /close resolved  staff bob: /tickets [mine|stats|report|N]
  staff bob: #1 !cache (a snippet)    alice: /ticket rate 5 "comment" [ticket:N]
  clock 2026-12-04T16:00+01:00    clock +3h
Type help for every line, quit (or Ctrl-D, Ctrl-C) to leave. examples/demo.txt plays a whole ticket."""


class ConsoleRefused(Exception):
    """The console will not run on this database: str() is one sentence."""


async def foreign_tickets(engine: AsyncEngine) -> int:
    """How many tickets (or linked accounts) of a real platform the database holds."""
    async with engine.connect() as connection:
        tickets = await connection.scalar(
            text("SELECT COUNT(*) FROM tickets WHERE customer_platform <> :p"), {"p": PLATFORM})
        people = await connection.scalar(
            text("SELECT COUNT(*) FROM identities WHERE platform <> :p"), {"p": PLATFORM})
    return int(tickets or 0) + int(people or 0)


async def run_console(settings: Settings, script: Path | None = None,
                      write: Callable[[str], None] = print, database: str | None = None,
                      reader: LineReader | None = None, files_dir: Path | None = None) -> None:
    """`files_dir`: where files the bot sends (transcripts, charts) are written (default: a temp folder)."""
    clock = ManualClock(SystemClock().now())
    with tempfile.TemporaryDirectory(prefix="supportbot-") as scratch:
        if database is None:
            # a script numbers its tickets from #1: a fresh database each time
            database = f"sqlite+aiosqlite:///{scratch}/script.db" if script is not None else INTERACTIVE_DATABASE
        settings = settings.model_copy(update={"database_url": database})
        await _run(settings, clock, script, write, reader, files_dir or default_files_dir())


async def _run(settings: Settings, clock: ManualClock, script: Path | None, write: Callable[[str], None],
               reader: LineReader | None, files_dir: Path) -> None:
    runtime = await build_runtime(settings, clock, mail_enabled=True)
    engine = runtime.store.engine

    async def guard() -> None:
        # checked before every delivery pass: a bot started on this database meanwhile is not robbed
        if await foreign_tickets(engine):
            raise ConsoleRefused(f"cannot use {where(settings.database_url)} as the console's: it holds Slack or "
                                 "Discord tickets, whose messages the console would take; give it a database of "
                                 "its own (--database)")

    try:
        await guard()
        ports = {
            Target.CUSTOMER: ConsoleCustomerPort(write, runtime.desk, files_dir),
            Target.STAFF: ConsoleStaffPort(write, runtime.desk, files_dir),
            Target.EMAIL: ConsoleMailPort(write),
        }
        dispatcher = runtime.start_dispatcher(ports, parallel=False)  # type: ignore[arg-type]  # a transcript in order
        console = Console(runtime.desk, clock, dispatcher, write, sweep=make_sweep(runtime.desk),
                          base_dir=script.parent if script else Path("."), cipher=runtime.cipher, guard=guard)
        if script is not None:
            await console.run_lines(script.read_text(encoding="utf-8").splitlines())
            return
        write(BANNER)
        await console.settle()  # deliver anything a previous run left in the outbox
        reader = reader or LineReader()
        while True:
            line = await reader.read("> ")
            if line is None or line.strip().lower() in ("quit", "exit"):
                write("")
                return
            await console.handle_line(line)
    finally:
        await runtime.close()


def main_console(settings: Settings, script: Path | str | None, database: str | None = None) -> int:
    if script is not None and not Path(script).is_file():
        print(f"supportbot: no such script: {script}", file=sys.stderr)
        return 2
    if database is not None:
        try:
            database = normalise_database_url(database)
        except ValueError as exc:
            print(f"supportbot: --database: {exc}", file=sys.stderr)
            return 2
    # the transcript is the output: library chatter and our own INFO lines would interleave with it
    logging.getLogger().setLevel(max(logging.ERROR, logging.getLogger().level))
    try:
        asyncio.run(run_console(settings, Path(script) if script else None, database=database))
    except ConsoleRefused as exc:
        print(f"supportbot: {exc}", file=sys.stderr)
        return 2
    except DatabaseUnavailable as exc:
        print(f"supportbot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("", file=sys.stderr)
        return 130
    return 0
