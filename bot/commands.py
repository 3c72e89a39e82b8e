"""Inputs of the core's use cases: small frozen values carrying ids and text, never platform payloads."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import Attachment, CloseReason
from bot.input_text import CleanInput


@dataclass(frozen=True)
class Customer(CleanInput):
    """Who is acting on the customer side."""

    platform: str
    user_id: str
    display_name: str = ""
    locale: str = "en"


@dataclass(frozen=True)
class Staff(CleanInput):
    """A staff member, already checked by the adapter to be staff. `channels`: the products'
    staff channels they belong to; with the policy's staff_scope "product" they act on those
    products' tickets only (bot/tickets/staff_scope.py)."""

    user_id: str
    display_name: str
    channels: frozenset[str] = frozenset()


@dataclass(frozen=True)
class LinkAccount(CleanInput):
    customer: Customer
    email: str
    key: str


@dataclass(frozen=True)
class OpenTicket(CleanInput):
    customer: Customer
    product: str
    subject: str
    magento_version: str
    module_version: str
    description: str
    steps: str
    changes: str
    errors: str = ""


@dataclass(frozen=True)
class CustomerPost(CleanInput):
    """A customer wrote in a ticket thread. The ticket is found by thread, else by number,
    else it is the customer's only open ticket."""

    customer: Customer
    event_id: str
    body: str
    thread_ref: str | None = None
    ticket_number: int | None = None
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class StaffPost(CleanInput):
    """A staff member wrote in a ticket's staff thread."""

    staff: Staff
    event_id: str
    body: str
    message_ref: str
    thread_ref: str | None = None
    ticket_number: int | None = None
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class Edit(CleanInput):
    """A message was edited (body set) or deleted (body None) on one side ('customer' or 'staff')."""

    side: str
    event_id: str
    message_ref: str
    body: str | None


@dataclass(frozen=True)
class Claim(CleanInput):
    staff: Staff
    ticket_number: int


@dataclass(frozen=True)
class StaffClose(CleanInput):
    staff: Staff
    ticket_number: int
    reason: CloseReason


@dataclass(frozen=True)
class CustomerClose(CleanInput):
    customer: Customer
    ticket_number: int | None = None
