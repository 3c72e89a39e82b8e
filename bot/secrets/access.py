"""Temporary access, on request only: a customer sends it through a private form, it is stored
encrypted, staff read it on demand (every view audited), and it is destroyed when the ticket
closes (bot/tickets/actions.close_ticket) or when it expires (bot/time/timers sweep), whichever is first.

Clear text exists only in memory, here and in the adapter showing it: the repository, the
outbox and the audit log only ever see ciphertext or the fact that access exists.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

from bot.commands import Customer, Staff
from bot.delivery.effects import audit, emit
from bot.desk import Desk
from bot.domain import AccessGrant, Target, Ticket
from bot.errors import Refusal
from bot.input_text import clean
from bot.ports import Cipher, UnitOfWork
from bot.texts import Text
from bot.tickets.customer_tickets import own_open_ticket
from bot.tickets.staff_scope import may_view_access
from bot.tickets.ticket_numbers import find_ticket

MAX_DAYS = 30  # the longest validity a customer may give (the policy: temporary access only)
LIMITS = {"url": 500, "login": 200, "password": 500, "notes": 1000}


def parse_valid_until(text: str) -> date:
    """The form's "valid until" (YYYY-MM-DD); raises Refusal with the expected format."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise Refusal("access_bad_date", value=text.strip()[:40]) from None


def _expiry(desk: Desk, valid_until: date) -> datetime:
    """Valid through that whole day in the desk's time zone."""
    end = datetime.combine(valid_until + timedelta(days=1), time(0), tzinfo=desk.policy.calendar.tz)
    return end.astimezone(UTC)


async def access_was_requested(uow: UnitOfWork, ticket_id: int) -> bool:
    """Staff asked for access on this ticket (request_access writes it to the audit log)."""
    return any(e.action == "access_requested" for e in await uow.audit.for_ticket(ticket_id))


def _check_fields(fields: dict[str, str]) -> None:
    for name in ("url", "login", "password"):
        if not fields[name].strip():
            raise Refusal("access_missing", field=name)
    for name, limit in LIMITS.items():
        if len(fields[name]) > limit:
            raise Refusal("access_too_long", field=name, limit=limit)


async def submit_access(desk: Desk, cipher: Cipher, customer: Customer, ticket_number: int | None,
                        url: str, login: str, password: str, notes: str, valid_until: date) -> Text:
    """Store the customer's temporary access, encrypted; replaces any earlier one of the ticket."""
    now = desk.clock.now()
    cal = desk.policy.calendar
    fields = {"url": clean(url).strip(), "login": clean(login).strip(), "password": clean(password),
              "notes": clean(notes).strip()}
    _check_fields(fields)
    expires_at = _expiry(desk, valid_until)
    today = cal.local(now).date()
    if expires_at <= now:
        raise Refusal("access_in_past", until=valid_until.isoformat())
    if valid_until > today + timedelta(days=MAX_DAYS):
        raise Refusal("access_too_far", days=MAX_DAYS, latest=(today + timedelta(days=MAX_DAYS)).isoformat())
    async with desk.uow() as uow:
        identity = await uow.identities.get(customer.platform, customer.user_id) if ticket_number is None else None
        ticket = await own_open_ticket(uow, customer, ticket_number, identity.account_id if identity else None)
        assert ticket.id is not None
        if not await access_was_requested(uow, ticket.id):
            raise Refusal("access_not_requested", number=ticket.number)
        clear = json.dumps({**fields, "valid_until": valid_until.isoformat()}).encode()
        replaced = await uow.access.delete_for_ticket(ticket.id)
        await uow.access.add(AccessGrant(ticket.id, cipher.encrypt(clear), expires_at, now))
        until = valid_until.isoformat()
        await emit(uow, now, Target.STAFF, "post", ticket, text=Text("access_received_note", {"until": until}))
        await emit(uow, now, Target.STAFF, "card_update", ticket)
        await audit(uow, now, f"{customer.platform}:{customer.user_id}", "access_submitted", ticket,
                    expires_at=expires_at.isoformat(), replaced=replaced)
        await uow.commit()
    return Text("access_received", {"number": ticket.number, "until": until})


async def view_access(desk: Desk, cipher: Cipher, staff: Staff, ticket_number: int) -> str:
    """The access in clear, for this staff member only, who must be of the ticket's product's staff
    whatever the desk's staff_scope; the view, and any refused attempt, is written to the audit log."""
    now = desk.clock.now()
    async with desk.uow() as uow:
        ticket = await find_ticket(uow, ticket_number)
        if ticket is None:
            raise Refusal("no_such_ticket", number=ticket_number)
        if not may_view_access(staff, ticket):
            await audit(uow, now, f"staff:{staff.user_id}", "access_view_refused", ticket, name=staff.display_name)
            await uow.commit()
            raise Refusal("access_view_refused", number=ticket.number, channel=ticket.staff_channel)
        grant = await uow.access.get_for_ticket(ticket.number, now)
        if grant is None:
            raise Refusal("access_none", number=ticket_number)
        try:
            fields = json.loads(cipher.decrypt(grant.ciphertext))
        except ValueError:
            raise Refusal("access_unreadable", number=ticket_number) from None
        await audit(uow, now, f"staff:{staff.user_id}", "access_viewed", ticket, name=staff.display_name)
        await uow.commit()
    sent = desk.policy.calendar.format_local(grant.created_at)
    return "\n".join([
        f"Temporary access for ticket #{ticket.number}, valid until {fields.get('valid_until', '?')} "
        f"(sent {sent}). Shown to you only; this view is logged.",
        f"URL: {fields.get('url', '')}",
        f"Login: {fields.get('login', '')}",
        f"Password: {fields.get('password', '')}",
        f"Notes: {fields.get('notes') or '-'}",
    ])


async def destroy_access(uow: UnitOfWork, ticket: Ticket, now: datetime, by: str) -> None:
    """Purge the ticket's access (closing); audited only when there was some."""
    assert ticket.id is not None
    if await uow.access.delete_for_ticket(ticket.id):
        await audit(uow, now, by, "access_destroyed", ticket, why="closed")


async def purge_expired_access(desk: Desk, batch: int = 100) -> int:
    """Destroy every grant past its expiry; staff are told in the ticket's thread."""
    purged = 0
    while True:
        now = desk.clock.now()
        async with desk.uow() as uow:
            expired = await uow.access.expired(now, batch)
            for grant in expired:
                assert grant.id is not None
                await uow.access.delete(grant.id)
                ticket = await uow.tickets.get(grant.ticket_id)
                if ticket is not None:
                    await audit(uow, now, "system", "access_destroyed", ticket, why="expired")
                    if ticket.is_open:
                        await emit(uow, now, Target.STAFF, "post", ticket, text=Text("access_expired_note"))
            await uow.commit()
        purged += len(expired)
        if len(expired) < batch:
            return purged
