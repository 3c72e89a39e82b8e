"""A ticket's transcript as plain data: the form and every message, for staff or the customer.

Times are shown in the desk's timezone. Every text goes through the credential redactor once
more on the way out, so a transcript never carries a secret even if one slipped into storage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from bot.delivery.effects import emit
from bot.desk import Desk
from bot.domain import Attachment, Message, MessageKind, Target, Ticket
from bot.errors import Refusal
from bot.ports import UnitOfWork
from bot.secrets.redaction import redact
from bot.time.calendar import zone_label

Audience = Literal["staff", "customer"]
Format = Literal["html", "md"]
FORMATS: tuple[Format, ...] = ("html", "md")
ALL_MESSAGES = 1_000_000  # for_ticket's limit: a transcript holds the whole conversation


@dataclass(frozen=True)
class TranscriptEntry:
    when: str  # local time, e.g. "Mon 7 Dec 2026 09:20 (UTC+01:00)"
    kind: str  # customer, staff, note (internal), system
    author: str
    body: str  # empty for a deleted message in the customer's copy
    attachments: tuple[Attachment, ...] = ()
    edited: str | None = None  # local time of the last edit
    deleted: bool = False


@dataclass(frozen=True)
class Transcript:
    number: int
    subject: str
    product: str
    audience: Audience
    customer: str
    status: str
    opened: str
    closed: str | None
    close_reason: str | None
    closed_by: str | None
    assignee: str | None
    form: tuple[tuple[str, str], ...]
    entries: tuple[TranscriptEntry, ...]
    timezone: str
    generated: str


class TranscriptRenderer(Protocol):
    """Implemented outside the core (adapters/render/transcript.py, Jinja2)."""

    def render(self, transcript: Transcript, fmt: Format) -> str: ...


def transcript_filename(number: int, fmt: Format, audience: Audience) -> str:
    suffix = "" if audience == "staff" else "-customer"
    return f"ticket-{number}-transcript{suffix}.{fmt}"


def _clean(text: str) -> str:
    return redact(text)[0]


def _form(ticket: Ticket) -> tuple[tuple[str, str], ...]:
    fields = (("Subject", ticket.subject), ("Product", ticket.product), ("Magento version", ticket.magento_version),
              ("Module version", ticket.module_version), ("Description", ticket.description),
              ("Steps to reproduce", ticket.steps), ("Recent changes", ticket.changes),
              ("Error messages", ticket.errors or "-"))
    return tuple((label, _clean(value)) for label, value in fields)


def _entry(desk: Desk, message: Message, audience: Audience) -> TranscriptEntry:
    fmt = desk.policy.calendar.format_local
    hide = message.deleted and audience == "customer"  # the customer reads that it was deleted, not what
    return TranscriptEntry(
        when=fmt(message.created_at), kind=message.kind.value, author=message.author_name or message.author_id,
        body="" if hide else _clean(message.body), attachments=() if hide else message.attachments,
        edited=fmt(message.edited_at) if message.edited_at else None, deleted=message.deleted)


def build_transcript(desk: Desk, ticket: Ticket, messages: list[Message], audience: Audience,
                     now: datetime) -> Transcript:
    fmt = desk.policy.calendar.format_local
    shown = [m for m in messages if audience == "staff" or m.kind is not MessageKind.NOTE]
    product = desk.policy.product(ticket.product)
    return Transcript(
        number=ticket.number, subject=_clean(ticket.subject), product=product.name if product else ticket.product,
        audience=audience, customer=ticket.customer_name, status=ticket.status.value, opened=fmt(ticket.opened_at),
        closed=fmt(ticket.closed_at) if ticket.closed_at else None,
        close_reason=ticket.close_reason.value if ticket.close_reason else None,
        closed_by=ticket.closed_by if audience == "staff" else None,
        assignee=ticket.assignee if audience == "staff" else None,
        form=_form(ticket), entries=tuple(_entry(desk, m, audience) for m in shown),
        timezone=zone_label(desk.policy.calendar.tz),
        generated=fmt(now))


async def load_transcript(desk: Desk, number: int, audience: Audience) -> Transcript:
    """The transcript of ticket `number` as it is now; Refusal if there is no such ticket."""
    async with desk.uow() as uow:
        ticket = await uow.tickets.get(number)
        if ticket is None:
            raise Refusal("unknown_ticket", number=number)
        messages = await uow.messages.for_ticket(number, limit=ALL_MESSAGES)
    return build_transcript(desk, ticket, messages, audience, desk.clock.now())


async def emit_staff_transcript(uow: UnitOfWork, now: datetime, ticket: Ticket) -> None:
    """The whole transcript (with internal notes) as a file in the ticket's staff thread."""
    await emit(uow, now, Target.STAFF, "transcript", ticket, format="html", audience="staff")


async def emit_customer_transcript(uow: UnitOfWork, now: datetime, ticket: Ticket) -> None:
    """The customer's copy (no internal notes) in their thread; emitted before the thread is locked."""
    await emit(uow, now, Target.CUSTOMER, "transcript", ticket, format="html", audience="customer")
