"""`supportbot console`: the whole flow in one terminal, on the real core and storage."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from adapters.console.console import Console
from adapters.console.ports import ConsoleCustomerPort, ConsoleMailPort, ConsoleStaffPort, default_files_dir
from bot.clock import ManualClock
from bot.domain import Target
from supportbot.bootstrap import build_runtime
from supportbot.clock import SystemClock
from supportbot.settings import Settings
from supportbot.timers_wiring import make_sweep

BANNER = """supportbot console: you play the customers (as on Discord) and the staff (as in Slack).
  alice: /support link email:alice@example.com key:ABC-123     alice: /ticket open product:… subject:"…" …
  alice: any text          staff bob: #12 answer          staff bob: #12 note: internal
  staff bob: #12 /claim    staff bob: #12 /close resolved  staff bob: /tickets [mine|stats|report|N]
  staff bob: #12 !cache (a snippet)    alice: /ticket rate 5 "comment" [ticket:N]
  clock 2026-12-04T16:00+01:00    clock +3h    licences import examples/licences.csv
Start with the example licences (first line above), or play examples/demo.txt. Ctrl-D quits."""


async def run_console(settings: Settings, script: Path | None = None,
                      write: Callable[[str], None] = print, files_dir: Path | None = None) -> None:
    """`files_dir`: where files the bot sends (transcripts, charts) are written (default: a temp folder)."""
    clock = ManualClock(SystemClock().now())
    with tempfile.TemporaryDirectory(prefix="supportbot-") as scratch:
        if script is not None and "database_url" not in settings.model_fields_set:
            # a script numbers its tickets from #1: play it on a fresh database unless told otherwise
            settings = settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{scratch}/script.db"})
        await _run(settings, clock, script, write, files_dir or default_files_dir())


async def _run(settings: Settings, clock: ManualClock, script: Path | None, write: Callable[[str], None],
               files_dir: Path) -> None:
    runtime = await build_runtime(settings, clock, mail_enabled=True)
    try:
        ports = {
            Target.CUSTOMER: ConsoleCustomerPort(write, runtime.desk, files_dir),
            Target.STAFF: ConsoleStaffPort(write, runtime.desk, files_dir),
            Target.EMAIL: ConsoleMailPort(write),
        }
        dispatcher = runtime.start_dispatcher(ports, parallel=False)  # type: ignore[arg-type]  # a transcript in order
        console = Console(runtime.desk, clock, dispatcher, write, sweep=make_sweep(runtime.desk),
                          base_dir=script.parent if script else Path("."), cipher=runtime.cipher)
        if script is not None:
            await console.run_lines(script.read_text(encoding="utf-8").splitlines())
            return
        write(BANNER)
        await console.settle()  # deliver anything a previous run left in the outbox
        while True:
            try:
                line = await asyncio.to_thread(input, "> ")
            except EOFError:
                write("")
                return
            await console.handle_line(line)
    finally:
        await runtime.close()


def main_console(settings: Settings, script: str | None) -> int:
    if script is not None and not Path(script).is_file():
        print(f"no such script: {script}", file=sys.stderr)
        return 2
    asyncio.run(run_console(settings, Path(script) if script else None))
    return 0
