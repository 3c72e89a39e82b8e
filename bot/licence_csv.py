"""Parse the vendor's licence export (CSV) into Licences, collecting every bad row."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from bot.domain import Licence

COLUMNS = ("key", "email", "product", "expires_at")

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


def parse_expires_at(text: str) -> datetime:
    """A UTC instant from an ISO date or datetime.

    A bare date means the licence is valid through that whole day, so it expires at the
    next midnight UTC; a datetime without an offset is taken as UTC.
    """
    text = text.strip()
    if _DATE.fullmatch(text):
        day = date.fromisoformat(text)
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def normalise_email(text: str) -> str | None:
    """The e-mail lower-cased and trimmed, or None if it does not look like one."""
    email = text.strip().lower()
    return email if _EMAIL.fullmatch(email) else None


def parse_licence_csv(lines: Iterable[str]) -> tuple[list[Licence], list[RowError]]:
    """Licences from CSV text with a header naming key,email,product,expires_at in any order.

    Extra columns are ignored; blank lines are skipped; when a key appears twice, the later
    row wins. Returns the good licences and one RowError per bad row (all its problems).
    """
    reader = csv.reader(iter(lines))
    header = _read_header(reader)
    if isinstance(header, RowError):
        return [], [header]
    by_key: dict[str, Licence] = {}
    errors: list[RowError] = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        cells = {name: (row[index] if index < len(row) else None) for name, index in header.items()}
        licence, problems = _licence_from(cells)
        if licence is None:
            errors.append(RowError(reader.line_num, "; ".join(problems)))
        else:
            by_key[licence.key] = licence
    return list(by_key.values()), errors


def _read_header(reader: Iterable[list[str]]) -> dict[str, int] | RowError:
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        names = [cell.strip().lstrip("\ufeff").lower() for cell in row]
        missing = [name for name in COLUMNS if name not in names]
        if missing:
            return RowError(
                getattr(reader, "line_num", 1),
                f"header: missing column(s) {', '.join(missing)} (expected {','.join(COLUMNS)})",
            )
        return {name: names.index(name) for name in COLUMNS}
    return RowError(1, f"the file is empty: a header {','.join(COLUMNS)} is required")


def _licence_from(cells: dict[str, str | None]) -> tuple[Licence | None, list[str]]:
    problems = []
    for name in COLUMNS:
        if cells[name] is None:
            problems.append(f"missing {name}")
    if problems:
        return None, problems
    key = (cells["key"] or "").strip()
    if not key:
        problems.append("key is empty")
    raw_email = cells["email"] or ""
    email = normalise_email(raw_email)
    if email is None:
        problems.append(f"email {raw_email.strip()!r} is not an e-mail address")
    product = (cells["product"] or "").strip()
    if not product:
        problems.append("product is empty")
    raw_expiry = (cells["expires_at"] or "").strip()
    expires_at = None
    try:
        expires_at = parse_expires_at(raw_expiry)
    except ValueError:
        problems.append(f"expires_at {raw_expiry!r} is not an ISO date or datetime")
    if problems or email is None or expires_at is None:
        return None, problems
    return Licence(key=key, email=email, product=product, expires_at=expires_at), []
