"""The console adapter: plays customer (Discord) and staff (Slack) roles against the real core.

Each input line runs one use case; then the timers sweep and the outbox dispatcher run until
nothing is due, so everything the bot sends is printed before the next line is read.
"""

from __future__ import annotations

import itertools
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

from adapters.console.help import HELP
from adapters.console.parser import (
    CustomerCommand,
    CustomerText,
    ImportLicences,
    Input,
    MoveClock,
    ParseError,
    SetClock,
    StaffCardAction,
    StaffCommand,
    StaffText,
    parse_line,
)
from adapters.console.ports import Write, block
from bot.commands import (
    Claim,
    Customer,
    CustomerClose,
    CustomerPost,
    LinkAccount,
    OpenTicket,
    Staff,
    StaffClose,
    StaffPost,
)
from bot.customers.accounts import link_account
from bot.customers.licence_csv import SEPARATORS, decode_export, guess_separator, parse_licence_csv
from bot.customers.licences import import_licences
from bot.delivery.outbox import Dispatcher
from bot.desk import Desk
from bot.domain import STAFF_CLOSE_REASONS, CloseReason
from bot.errors import Refusal
from bot.ports import Cipher
from bot.reporting.requests import report_options, staff_report
from bot.secrets.access import parse_valid_until, submit_access, view_access
from bot.secrets.redaction import redact
from bot.texts import Text, render
from bot.tickets import actions, queries
from bot.tickets.conversation import customer_post, staff_post
from bot.tickets.opening import open_ticket, suggest_manual
from bot.tickets.satisfaction import rate
from bot.tickets.ticket_numbers import parse_ticket_number
from bot.time.clock import ManualClock

log = logging.getLogger(__name__)
PLATFORM = "console"
REASONS = ", ".join(r.value for r in STAFF_CLOSE_REASONS)
ACCESS_OPTIONS = {"url", "login", "password", "notes", "valid"}
CONSOLE_REPORT_CHANNEL = "staff"  # where /tickets report's chart goes: the console has one staff view


def shown(line: str) -> str:
    """A line as it may be echoed: the access form's password masked (the form is private)."""
    if "/ticket access" not in line:
        return line
    return " ".join("password:***" if w.startswith("password:") else w for w in line.split(" "))


class Console:
    def __init__(self, desk: Desk, clock: ManualClock, dispatcher: Dispatcher, write: Write,
                 sweep: Callable[[], Awaitable[object]] | None = None, base_dir: Path = Path("."),
                 cipher: Cipher | None = None, guard: Callable[[], Awaitable[None]] | None = None) -> None:
        self.desk, self.clock, self.dispatcher, self.write, self.sweep = desk, clock, dispatcher, write, sweep
        self.guard = guard  # raises when the database turns out to serve a real platform
        self.cipher = cipher  # for /ticket access and /view-access (temporary access, encrypted at rest)
        self.base_dir = base_dir  # where `licences import` finds relative files (the script's folder)
        # event ids unique across runs on the same database: a second session's "console-1" was
        # taken for a duplicate of the first session's and dropped in silence
        self._run = uuid.uuid4().hex[:12]
        self._ids = itertools.count(1)

    def _next_id(self) -> str:
        return f"console-{self._run}-{next(self._ids)}"

    # --- the loop -----------------------------------------------------------------------

    async def run_lines(self, lines: Iterable[str], echo: bool = True) -> None:
        for line in lines:
            if echo and line.strip() and not line.startswith("#"):
                self.write(f"> {shown(line.rstrip())}")
            await self.handle_line(line)

    async def handle_line(self, line: str) -> None:
        if line.strip().lower() in ("help", "?"):
            self.write(HELP)
            return
        try:
            parsed = parse_line(line)
        except ParseError as exc:
            self.write(f"! cannot read that line: {exc}")
            return
        if parsed is None:
            return
        try:
            await self.execute(parsed)
        except Refusal as refusal:
            self._ephemeral(parsed, render(refusal.text))
        except Exception:  # the console must survive whatever one line does
            log.exception("input failed: %s", redact(shown(line.strip()))[0])  # logs never carry secrets
            self.write("! something went wrong with that line; see the log above")
        await self.settle()

    async def settle(self) -> None:
        """Run what became due (timers, then deliveries) before the next line."""
        if self.guard is not None:
            await self.guard()
        if self.sweep is not None:
            await self.sweep()
        await self.dispatcher.run_once()

    def _ephemeral(self, parsed: Input, text: str) -> None:
        if isinstance(parsed, StaffText | StaffCardAction | StaffCommand):
            self.write(block(f"→ slack ephemeral @{parsed.user}", text))
        elif isinstance(parsed, CustomerCommand | CustomerText):
            self.write(block(f"→ discord ephemeral @{parsed.user}", text))

    # --- inputs -------------------------------------------------------------------------

    async def execute(self, parsed: Input) -> None:
        if isinstance(parsed, SetClock):
            self.clock.set(parsed.at)
            self.write(f"  (clock: {self.desk.policy.calendar.format_local(self.clock.now())})")
        elif isinstance(parsed, MoveClock):
            self.clock.advance(parsed.by)
            self.write(f"  (clock: {self.desk.policy.calendar.format_local(self.clock.now())})")
        elif isinstance(parsed, ImportLicences):
            await self._import(parsed.path)
        elif isinstance(parsed, CustomerCommand):
            await self._customer_command(parsed)
        elif isinstance(parsed, CustomerText):
            reply = await customer_post(self.desk, CustomerPost(
                self._customer(parsed.user), self._next_id(), parsed.text, ticket_number=parsed.ticket))
            if reply is not None:
                self._ephemeral(parsed, render(reply))
        elif isinstance(parsed, StaffText):
            ref = self._next_id()
            reply = await staff_post(self.desk, StaffPost(self._staff(parsed.user), ref, parsed.text, ref,
                                                          ticket_number=parsed.ticket))
            if reply is not None:
                self._ephemeral(parsed, render(reply))
            elif self._is_note(parsed.text):  # in Slack the note itself shows in the thread; here, say so
                self.write(f"  (note stored on #{parsed.ticket}: staff only, never sent to the customer)")
        elif isinstance(parsed, StaffCardAction) and parsed.action == "view-access":
            self._ephemeral(parsed, await view_access(self.desk, self._cipher(), self._staff(parsed.user), parsed.ticket))
        elif isinstance(parsed, StaffCardAction):
            self._ephemeral(parsed, render(await self._card_action(parsed)))
        elif isinstance(parsed, StaffCommand):
            self._ephemeral(parsed, await self._tickets_command(parsed))

    async def _import(self, name: str) -> None:
        path = self.base_dir / name
        if not path.is_file():
            self.write(f"! no such licence file: {path}")
            return
        text, encoding = decode_export(path.read_bytes())
        separator = guess_separator(text)
        licences, errors = parse_licence_csv(text.splitlines(), set(self.desk.policy.products) or None, separator)
        count = await import_licences(self.desk.uow, licences)
        how = f"read as {encoding}, separated by {SEPARATORS[separator]}s"
        self.write(f"  (imported {count} licence(s) from {name}, {how}" +
                   (f"; {len(errors)} bad row(s))" if errors else ")"))
        for error in errors:
            self.write(f"  bad row: {error}")

    def _is_note(self, text: str) -> bool:
        prefix = self.desk.policy.note_prefix.lower()
        return bool(prefix) and text.lstrip().lower().startswith(prefix)

    @staticmethod
    def _customer(name: str) -> Customer:
        return Customer(PLATFORM, name, name, "en")

    def _staff(self, name: str) -> Staff:
        """Console staff play the whole desk: a member of every product's staff channel."""
        channels = frozenset(p.staff_channel for p in self.desk.policy.products.values())
        return Staff(name, name, channels)

    async def _customer_command(self, cmd: CustomerCommand) -> None:
        who, opts = self._customer(cmd.user), cmd.options
        # a number given is read strictly: a bad one is refused, never replaced by "your only ticket"
        number = parse_ticket_number(cmd.args[0]) if cmd.args else None
        if (cmd.command, cmd.sub) == ("support", "link"):
            reply = await link_account(self.desk, LinkAccount(who, opts.get("email", ""), opts.get("key", "")))
        elif cmd.sub == "open":
            reply = await self._open(cmd, who)
        elif cmd.sub == "status":
            reply = await queries.customer_status(self.desk, who, number)
        elif cmd.sub == "list":
            reply = await queries.customer_list(self.desk, who)
        elif cmd.sub == "access":
            reply = await self._access(cmd, who, number)
        elif cmd.sub == "rate":
            reply = await self._rate(cmd, who)
        else:
            reply = await actions.customer_close(self.desk, CustomerClose(who, number))
        self._ephemeral(cmd, render(reply))

    async def _open(self, cmd: CustomerCommand, who: Customer) -> Text:
        opts = cmd.options
        unknown = set(opts) - {"product", "subject", "magento", "module", "description", "steps", "changes", "errors"}
        if unknown:
            raise ParseErrorRefusal(f"unknown option(s) {', '.join(sorted(unknown))}")
        pages = suggest_manual(self.desk, opts.get("product", ""), opts.get("subject", ""))
        if pages:
            lines = [render(Text("manual_suggestions"))] + [f"• {p.title}: {p.url}" for p in pages]
            lines.append("[buttons: This answers my question, Open the ticket anyway]")
            self._ephemeral(cmd, "\n".join(lines))
            self.write(f"  ({cmd.user} chooses: Open the ticket anyway)")
        opened = await open_ticket(self.desk, OpenTicket(
            who, opts.get("product", ""), opts.get("subject", ""), opts.get("magento", ""), opts.get("module", ""),
            opts.get("description", ""), opts.get("steps", ""), opts.get("changes", ""), opts.get("errors", "")))
        return opened.reply

    async def _rate(self, cmd: CustomerCommand, who: Customer) -> Text:
        """`alice: /ticket rate 5 ["comment"] [ticket:N]`: the 1-5 buttons and the comment form."""
        usage = 'use: /ticket rate 1-5 ["comment"] [ticket:N]'
        if not cmd.args or not cmd.args[0].isdigit() or set(cmd.options) - {"ticket"}:
            raise ParseErrorRefusal(usage)
        ticket = cmd.options.get("ticket", "").lstrip("#")
        if ticket and not ticket.isdigit():
            raise ParseErrorRefusal(usage)
        return await rate(self.desk, who, int(ticket) if ticket else None, int(cmd.args[0]), " ".join(cmd.args[1:]))

    def _cipher(self) -> Cipher:
        if self.cipher is None:
            raise ParseErrorRefusal("temporary access needs an encryption key (ACCESS_ENCRYPTION_KEY)")
        return self.cipher

    async def _access(self, cmd: CustomerCommand, who: Customer, number: int | None) -> Text:
        """`alice: /ticket access [#N] url:… login:… password:… notes:… valid:YYYY-MM-DD` (the form)."""
        opts = cmd.options
        unknown = set(opts) - ACCESS_OPTIONS
        if unknown:
            raise ParseErrorRefusal(f"unknown option(s) {', '.join(sorted(unknown))}; use {', '.join(sorted(ACCESS_OPTIONS))}")
        until = parse_valid_until(opts.get("valid", ""))
        return await submit_access(self.desk, self._cipher(), who, number, opts.get("url", ""), opts.get("login", ""),
                                   opts.get("password", ""), opts.get("notes", ""), until)

    async def _card_action(self, cmd: StaffCardAction) -> Text:
        staff = self._staff(cmd.user)
        if cmd.action == "claim":
            return await actions.claim(self.desk, Claim(staff, cmd.ticket))
        if cmd.action == "close":
            try:
                reason = CloseReason(cmd.args[0] if cmd.args else "")
            except ValueError:
                raise ParseErrorRefusal(f"close needs a reason: {REASONS}") from None
            return await actions.staff_close(self.desk, StaffClose(staff, cmd.ticket, reason))
        if cmd.action == "request-access":
            return await actions.request_access(self.desk, staff, cmd.ticket)
        raise ParseErrorRefusal("card actions are /claim, /close REASON, /request-access and /view-access")

    async def _tickets_command(self, cmd: StaffCommand) -> str:
        args, staff = cmd.args, self._staff(cmd.user)
        if not args:
            return await queries.staff_open_tickets(self.desk, staff)
        if args == ("mine",):
            return await queries.staff_open_tickets(self.desk, staff, assignee=cmd.user)
        if args == ("stats",):
            return await queries.staff_stats(self.desk, staff)
        if args[0] == "report":  # the summary now; the chart is written by the staff port (outbox)
            since, until = report_options(list(args[1:]))
            _, summary = await staff_report(self.desk, staff, CONSOLE_REPORT_CHANNEL, since, until)
            return summary
        if args[1:] in ((), ("request-access",)) and (args[0].startswith("#") or any(c.isnumeric() for c in args[0])):
            number = parse_ticket_number(args[0])
            if args[1:] == ("request-access",):
                return render(await actions.request_access(self.desk, staff, number))
            return await queries.staff_ticket(self.desk, staff, number)
        return "usage: /tickets [mine | stats | report | N | N request-access]"


class ParseErrorRefusal(Refusal):
    """A console input that parsed but makes no sense: answered like any refusal."""

    def __init__(self, message: str) -> None:
        super().__init__("console_usage", message=message)
