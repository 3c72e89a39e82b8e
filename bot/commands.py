"""Inputs of the core's use cases: small frozen values carrying ids and text, never platform payloads."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import Attachment, CloseReason


@dataclass(frozen=True)
class Customer:
    """Who is acting on the customer side."""

    platform: str
    user_id: str
    display_name: str = ""
    locale: str = "en"


@dataclass(frozen=True)
class Staff:
    """A staff member, already checked by the adapter to be staff."""

    user_id: str
    display_name: str


@dataclass(frozen=True)
class LinkAccount:
    customer: Customer
    email: str
    key: str


@dataclass(frozen=True)
class OpenTicket:
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
class CustomerPost:
    """A customer wrote in a ticket thread. The ticket is found by thread, else by number,
    else it is the customer's only open ticket."""

    customer: Customer
    event_id: str
    body: str
    thread_ref: str | None = None
    ticket_number: int | None = None
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class StaffPost:
    """A staff member wrote in a ticket's staff thread."""

    staff: Staff
    event_id: str
    body: str
    message_ref: str
    thread_ref: str | None = None
    ticket_number: int | None = None
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class Edit:
    """A message was edited (body set) or deleted (body None) on one side ('customer' or 'staff')."""

    side: str
    event_id: str
    message_ref: str
    body: str | None


@dataclass(frozen=True)
class Claim:
    staff: Staff
    ticket_number: int


@dataclass(frozen=True)
class StaffClose:
    staff: Staff
    ticket_number: int
    reason: CloseReason


@dataclass(frozen=True)
class CustomerClose:
    customer: Customer
    ticket_number: int | None = None
