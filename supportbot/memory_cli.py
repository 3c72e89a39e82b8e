"""`supportbot transcript N` and `supportbot report`: the desk's memory on the command line."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TextIO

from bot.customers.licences import StoredLicences
from bot.desk import Desk
from bot.errors import Refusal
from bot.ports import Clock
from bot.texts import render
from supportbot.bootstrap import open_store
from supportbot.clock import SystemClock
from supportbot.config_report import policy_path
from supportbot.policy_file import load_policy
from supportbot.settings import Settings


@asynccontextmanager
async def reading_desk(settings: Settings, clock: Clock | None = None) -> AsyncIterator[Desk]:
    """A desk over the configured store, for commands that only read (no platform, no dispatcher)."""
    policy = load_policy(policy_path(settings))
    store = await open_store(settings.database_url)
    try:
        yield Desk(store.uow, clock or SystemClock(), policy, StoredLicences(store.uow))
    finally:
        await store.engine.dispose()


def write_output(data: bytes, output: str | None, out: TextIO) -> int:
    """To the file named, else to standard output (text); the command's exit status."""
    try:
        if output is None:
            out.write(data.decode("utf-8"))
            out.flush()
        else:
            Path(output).write_bytes(data)
            print(f"wrote {output}", file=sys.stderr)
    except OSError as exc:
        print(f"supportbot: cannot write {output}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


async def transcript_command(settings: Settings, number: int, fmt: str, customer: bool, output: str | None,
                             out: TextIO = sys.stdout, clock: Clock | None = None) -> int:
    from adapters.render.files import transcript_file

    async with reading_desk(settings, clock) as desk:
        try:
            _, data = await transcript_file(desk, number, "md" if fmt == "md" else "html",
                                            "customer" if customer else "staff")
        except Refusal:
            print(f"supportbot: there is no ticket #{number}.", file=sys.stderr)
            return 1
    return write_output(data, output, out)


async def report_command(settings: Settings, fmt: str, since: str | None, until: str | None, output: str | None,
                         out: TextIO = sys.stdout, clock: Clock | None = None) -> int:
    from adapters.render.chart import report_chart
    from bot.reporting.report import load_report, parse_day, period
    from bot.reporting.report_text import report_csv, report_text

    if fmt == "png" and output is None:
        print("supportbot: a PNG chart needs --output FILE.png", file=sys.stderr)
        return 2
    async with reading_desk(settings, clock) as desk:
        try:
            start, end = period(desk, parse_day(since) if since else None, parse_day(until) if until else None)
        except Refusal as refusal:
            print(f"supportbot: {render(refusal.text)}", file=sys.stderr)
            return 2
        report = await load_report(desk, start, end)
        cal = desk.policy.calendar
    if fmt == "png":
        data = report_chart(cal, report)
    else:
        data = (report_csv(report) if fmt == "csv" else report_text(cal, report) + "\n").encode("utf-8")
    return write_output(data, output, out)
