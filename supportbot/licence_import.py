"""`supportbot licences import FILE.csv`: upsert good rows with a progress bar, report every bad one."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from bot.licence_csv import parse_licence_csv
from bot.licences import import_licences
from supportbot.bootstrap import open_store
from supportbot.settings import Settings


async def import_file(settings: Settings, path: Path, console: Console | None = None) -> int:
    """Exit status: 0 when every row was good, 1 when some were bad (good rows still imported)."""
    console = console or Console(highlight=False)
    if not path.is_file():
        console.print(f"no such file: {path}")
        return 2
    with path.open(encoding="utf-8", newline="") as f:
        licences, errors = parse_licence_csv(f)
    store = await open_store(settings.database_url)
    try:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("importing licences", total=len(licences))
            written = await import_licences(store.uow, licences, lambda n: progress.update(task, completed=n))
    finally:
        await store.engine.dispose()
    console.print(f"imported {written} licence(s) from {path}")
    for error in errors:
        console.print(f"  bad row: {error}")
    if errors:
        console.print(f"{len(errors)} bad row(s) were not imported")
        return 1
    return 0
