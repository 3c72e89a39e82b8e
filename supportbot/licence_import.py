"""`supportbot licences import FILE.csv`: upsert good rows with a progress bar, report every bad one.

Files come as spreadsheets export them: the encoding and the separator are detected (and said),
and the products are checked against the policy's."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress

from bot.customers.licence_csv import SEPARATORS, RowError, decode_export, guess_separator, parse_licence_csv
from bot.customers.licences import import_licences
from bot.domain import Licence
from supportbot.bootstrap import open_store
from supportbot.config_report import policy_path
from supportbot.policy_file import load_policy
from supportbot.settings import Settings


def read_export(path: Path, known_products: Collection[str] | None) -> tuple[list[Licence], list[RowError], str]:
    """(good licences, bad rows, "read as ENCODING, separated by …")."""
    text, encoding = decode_export(path.read_bytes())
    separator = guess_separator(text)
    licences, errors = parse_licence_csv(text.splitlines(), known_products, separator)
    return licences, errors, f"read as {encoding}, separated by {SEPARATORS[separator]}s"


def policy_products(settings: Settings) -> Collection[str] | None:
    products = load_policy(policy_path(settings)).products
    return set(products) if products else None  # no policy yet: nothing to check against


async def import_file(settings: Settings, path: Path, console: Console | None = None) -> int:
    """Exit status: 0 when every row was good, 1 when some were bad (good rows still imported)."""
    console = console or Console(highlight=False, soft_wrap=True)  # a bad row stays one line
    if not path.is_file():
        console.print(escape(f"no such file: {path}"))
        return 2
    known = policy_products(settings)
    licences, errors, how = read_export(path, known)
    store = await open_store(settings.database_url)
    try:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("importing licences", total=len(licences))
            written = await import_licences(store.uow, licences, lambda n: progress.update(task, completed=n))
    finally:
        await store.engine.dispose()
    console.print(escape(f"imported {written} licence(s) from {path} ({how})"))
    if known is None:
        console.print("no products in the policy yet: the licences' products were not checked")
    for error in errors:
        console.print(escape(f"  bad row: {error}"))
    if errors:
        console.print(f"{len(errors)} bad row(s) were not imported")
        return 1
    return 0
