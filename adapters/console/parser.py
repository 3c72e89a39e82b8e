"""The console's line grammar: one line, one input, for interactive use and scripts alike."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.time.durations import parse_duration


class ParseError(ValueError):
    """A line the console cannot understand; the message says what is expected."""


@dataclass(frozen=True)
class SetClock:
    at: datetime


@dataclass(frozen=True)
class MoveClock:
    by: timedelta


@dataclass(frozen=True)
class ImportLicences:
    """`licences import FILE.csv` (relative to the script): licences for a self-contained demo."""

    path: str


@dataclass(frozen=True)
class CustomerCommand:
    """`alice: /ticket open product:seo-suite subject:"..."`"""

    user: str
    command: str  # "support" or "ticket"
    sub: str  # "link", "open", "status", "list", "close", "access"
    options: dict[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class CustomerText:
    user: str
    text: str
    ticket: int | None = None


@dataclass(frozen=True)
class StaffText:
    user: str
    ticket: int
    text: str


@dataclass(frozen=True)
class StaffCardAction:
    """`staff bob: #12 /claim`, `/close customisation`, `/request-access`, `/view-access`"""

    user: str
    ticket: int
    action: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class StaffCommand:
    """`staff bob: /tickets mine`"""

    user: str
    args: tuple[str, ...] = ()


Input = SetClock | MoveClock | ImportLicences | CustomerCommand | CustomerText | StaffText | StaffCardAction | StaffCommand

NAME = r"[A-Za-z0-9_.-]+"
LINE = re.compile(rf"^(?P<staff>staff\s+)?(?P<user>{NAME})\s*:\s?(?P<rest>.*)$", re.S)
# "#12 …" in ASCII digits; "#" then another numeral (#١٢, #²) is meant as a number and refused
TICKET = re.compile(r"^#(?P<n>[0-9]+)\s*(?P<rest>.*)$", re.S | re.ASCII)
CUSTOMER_COMMANDS = {"support": {"link"}, "ticket": {"open", "status", "list", "close", "access", "rate"}}
USAGE = ('expected "NAME: text", "NAME: /ticket …", "staff NAME: #N text", "staff NAME: /tickets …" '
         'or "clock …"')


def words(text: str) -> list[str]:
    """Split on spaces; double quotes group (name:"a b" -> name:a b). Apostrophes are plain text."""
    lexer = shlex.shlex(text, posix=True)
    lexer.whitespace_split = True
    lexer.quotes = '"'
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError as exc:
        raise ParseError(f"{exc}: close the double quote") from None


def parse_clock(rest: str) -> SetClock | MoveClock:
    rest = rest.strip()
    if rest.startswith("+"):
        try:
            return MoveClock(parse_duration(rest[1:]))
        except ValueError as exc:
            raise ParseError(str(exc)) from None
    try:
        at = datetime.fromisoformat(rest)
    except ValueError:
        raise ParseError(f"'{rest}' is not a time: use clock 2026-12-04T16:00+01:00 or clock +3h") from None
    if at.tzinfo is None:
        raise ParseError(f"'{rest}' has no UTC offset: write e.g. 2026-12-04T16:00+01:00")
    return SetClock(at)


def _customer_command(user: str, rest: str) -> CustomerCommand:
    parts = words(rest[1:])
    command, sub, tail = (parts + ["", ""])[0], (parts + ["", ""])[1], parts[2:]
    if command not in CUSTOMER_COMMANDS:
        raise ParseError(f"unknown command /{command}: customers use /support link and "
                         "/ticket open|status|list|close|access|rate")
    if sub not in CUSTOMER_COMMANDS[command]:
        raise ParseError(f"/{command} takes one of: {', '.join(sorted(CUSTOMER_COMMANDS[command]))}")
    options, args = {}, []
    for word in tail:
        name, sep, value = word.partition(":")
        if sep and re.fullmatch(r"[a-z_]+", name):
            options[name] = value
        else:
            args.append(word)
    return CustomerCommand(user, command, sub, options, tuple(args))


def _staff(user: str, rest: str) -> Input:
    rest = rest.strip()
    if rest.startswith("/"):
        parts = words(rest[1:])
        if not parts or parts[0] != "tickets":
            raise ParseError("staff commands are /tickets [N|mine|stats], or "
                             "#N /claim|/close REASON|/request-access|/view-access")
        return StaffCommand(user, tuple(parts[1:]))
    match = TICKET.match(rest)
    if not match:
        _refuse_bad_number(rest)
        raise ParseError("say which ticket staff write in: staff bob: #12 your answer")
    number, body = int(match["n"]), match["rest"].strip()
    if not body:
        raise ParseError(f"nothing to send to ticket #{number}")
    if body.startswith("/"):
        parts = words(body[1:])
        return StaffCardAction(user, number, parts[0] if parts else "", tuple(parts[1:]))
    return StaffText(user, number, body)


def _refuse_bad_number(rest: str) -> None:
    token = rest.split(maxsplit=1)[0] if rest.split() else ""
    if token.startswith("#") and token[1:2].isnumeric():
        raise ParseError(f"'{token[:20]}' is not a ticket number: write its digits, e.g. #12")


def parse_line(line: str) -> Input | None:
    """One input line; None for blank lines and comments. Raises ParseError."""
    if not line.strip() or line.startswith("#"):
        return None
    line = line.rstrip("\n")
    head, _, rest = line.strip().partition(" ")
    if head == "clock":
        return parse_clock(rest)
    if head == "licences":
        action, _, path = rest.strip().partition(" ")
        if action != "import" or not path.strip():
            raise ParseError("use: licences import FILE.csv")
        return ImportLicences(path.strip())
    match = LINE.match(line.strip())
    if not match:
        raise ParseError(USAGE)
    user, rest = match["user"], match["rest"].strip()
    if match["staff"]:
        return _staff(user, rest)
    if not rest:
        raise ParseError(f"{user} said nothing")
    if rest.startswith("/"):
        return _customer_command(user, rest)
    ticket = TICKET.match(rest)
    if not ticket:
        _refuse_bad_number(rest)
    if ticket:
        if not ticket["rest"].strip():
            raise ParseError(f"nothing to send to ticket #{ticket['n']}")
        return CustomerText(user, ticket["rest"].strip(), int(ticket["n"]))
    return CustomerText(user, rest)
