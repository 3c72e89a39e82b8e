"""Parse the vendor's licence export (CSV) into Licences, collecting every bad row."""

from __future__ import annotations

import csv
import re
from collections.abc import Collection, Iterable
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


def canonical_key(key: str) -> str:
    """A key as customers may type it: case and spaces do not matter (SEO-2001 = seo 2001 ...)."""
    return "".join(key.split()).upper()


def parse_licence_csv(lines: Iterable[str], known_products: Collection[str] | None = None,
                      delimiter: str = ",") -> tuple[list[Licence], list[RowError]]:
    """Licences from CSV text with a header naming key,email,product,expires_at in any order.

    Extra columns are ignored; blank lines are skipped. A key seen again in the file (compared
    without case or spaces) is reported and only its first row kept; with `known_products`, a
    product outside them is reported (a customer could not open a ticket for it). Returns the
    good licences and one RowError per bad row (all its problems).
    """
    reader = csv.reader(iter(lines), delimiter=delimiter)
    header = _read_header(reader)
    if isinstance(header, RowError):
        return [], [header]
    first_line: dict[str, int] = {}
    good: list[Licence] = []
    errors: list[RowError] = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        cells = {name: (row[index] if index < len(row) else None) for name, index in header.items()}
        licence, problems = _licence_from(cells)
        if licence is not None and known_products is not None and licence.product not in known_products:
            problems = [f"product {licence.product!r} is not in the policy "
                        f"(its products: {', '.join(sorted(known_products)) or 'none'})"]
            licence = None
        if licence is not None and canonical_key(licence.key) in first_line:
            problems = [f"key {licence.key} is already on line {first_line[canonical_key(licence.key)]}: "
                        "this row was not imported"]
            licence = None
        if licence is None:
            errors.append(RowError(reader.line_num, "; ".join(problems)))
        else:
            first_line[canonical_key(licence.key)] = reader.line_num
            good.append(licence)
    return good, errors


def decode_export(data: bytes) -> tuple[str, str]:
    """(text, encoding name) of a spreadsheet export: UTF-8 (with or without BOM), UTF-16 with a
    BOM (Excel's "Unicode text"), else Windows-1252 (Excel's CSV on Windows), else Latin-1."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "UTF-16"
    for codec, name in (("utf-8-sig", "UTF-8"), ("cp1252", "Windows-1252")):
        try:
            return data.decode(codec), name
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "ISO-8859-1"


SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}


def guess_separator(text: str) -> str:
    """The separator of the header line: the candidate that splits it into the required columns,
    else the most frequent one (a comma when none appears)."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    names = lambda sep: {cell.strip().lstrip("\ufeff").lower() for cell in next(csv.reader([header], delimiter=sep))}  # noqa: E731
    for sep in SEPARATORS:
        if set(COLUMNS) <= names(sep):
            return sep
    return max(SEPARATORS, key=lambda sep: (header.count(sep), sep == ","))


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
        problems.append(f"expires_at {raw_expiry!r} is not a date: write YYYY-MM-DD (valid through that day, "
                        "UTC) or an ISO datetime such as 2026-12-31T18:00:00+01:00")
    if problems or email is None or expires_at is None:
        return None, problems
    return Licence(key=key, email=email, product=product, expires_at=expires_at), []
