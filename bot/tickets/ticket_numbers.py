"""Ticket numbers as people type them, read in one place for every adapter and use case.

A number is ASCII digits (an optional leading #), within the id column's range (a 32-bit
integer on PostgreSQL). Anything else is refused with a sentence, never replaced by a default,
and a number out of range is a ticket that does not exist.
"""

from __future__ import annotations

import re

from bot.domain import Ticket
from bot.errors import Refusal
from bot.input_text import shorten
from bot.ports import UnitOfWork

MAX_TICKET_NUMBER = 2**31 - 1
_NUMBER = re.compile(r"#?\s*([0-9]+)", re.ASCII)


def in_range(number: int) -> bool:
    return 1 <= number <= MAX_TICKET_NUMBER


def parse_ticket_number(text: str) -> int:
    """`12` or `#12` as a ticket number. Raises Refusal: "bad_ticket_number" for what is not a
    number, "no_such_ticket" for a number no ticket can have (0, or beyond the range)."""
    match = _NUMBER.fullmatch(text.strip())
    if not match:
        raise Refusal("bad_ticket_number", value=shorten(text, 20))
    digits = match[1].lstrip("0") or "0"
    if len(digits) > len(str(MAX_TICKET_NUMBER)) or not in_range(int(digits)):
        raise Refusal("no_such_ticket", number=shorten(digits, 20))
    return int(digits)


async def find_ticket(uow: UnitOfWork, number: int, lock: bool = False) -> Ticket | None:
    """The ticket with this number (locked for the transaction if `lock`); None when there is
    none, including numbers out of range (which the database would reject)."""
    if not in_range(number):
        return None
    return await (uow.tickets.get_for_update(number) if lock else uow.tickets.get(number))
