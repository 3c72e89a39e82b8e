"""Licences kept in our own database (imported from the vendor's CSV export)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import islice

from bot.customers.licence_csv import normalise_email
from bot.domain import Licence
from bot.ports import LicenceSource, UnitOfWorkFactory


class StoredLicences(LicenceSource):
    """A LicenceSource answering from the licences table; read-only transactions."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def lookup(self, key: str) -> Licence | None:
        """Keys compare without regard to case or surrounding spaces (the repository folds case)."""
        key = key.strip()
        if not key:
            return None
        async with self._uow_factory() as uow:
            return await uow.licences.get(key)

    async def for_email(self, email: str) -> Sequence[Licence]:
        address = normalise_email(email)
        if address is None:
            return []
        async with self._uow_factory() as uow:
            return await uow.licences.for_email(address)


async def import_licences(
    uow_factory: UnitOfWorkFactory,
    licences: Iterable[Licence],
    progress: Callable[[int], None] | None = None,
    batch: int = 500,
) -> int:
    """Upsert the licences, one transaction per `batch` rows (a huge export never holds
    one long transaction); `progress` gets the running total after each commit.
    Returns how many licences were written."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    rows = iter(licences)
    written = 0
    while chunk := list(islice(rows, batch)):
        async with uow_factory() as uow:
            for licence in chunk:
                await uow.licences.upsert(licence)
            await uow.commit()
        written += len(chunk)
        if progress is not None:
            progress(written)
    return written
