"""Domain types of the ticket core. Plain dataclasses: storage maps them, adapters never see rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class TicketStatus(StrEnum):
    AWAITING_STAFF = "awaiting_staff"
    AWAITING_CUSTOMER = "awaiting_customer"
    CLOSED = "closed"


class CloseReason(StrEnum):
    RESOLVED = "resolved"
    CUSTOMISATION = "customisation"
    MAGENTO_NATIVE = "magento-native"
    LICENCE_EXPIRED = "licence-expired"
    DUPLICATE = "duplicate"
    INACTIVITY = "inactivity"
    ERASED = "erased"  # the customer asked to be forgotten (`supportbot customer forget --close-open`)


# Reasons staff may pick on the card; inactivity is the timer's own.
STAFF_CLOSE_REASONS = (
    CloseReason.RESOLVED,
    CloseReason.CUSTOMISATION,
    CloseReason.MAGENTO_NATIVE,
    CloseReason.LICENCE_EXPIRED,
    CloseReason.DUPLICATE,
)


class MessageKind(StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"
    NOTE = "note"  # internal: stored, never relayed to the customer
    SYSTEM = "system"


class Target(StrEnum):
    """Where an outbox row goes."""

    CUSTOMER = "customer"  # the customer-side platform (Discord, console)
    STAFF = "staff"  # the staff-side platform (Slack, console)
    EMAIL = "email"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"  # gave up after too many attempts; logged loudly, kept for replay


@dataclass
class Account:
    """A purchasing account, known by the e-mail address its licences were bought with."""

    email: str
    id: int | None = None


@dataclass
class Identity:
    """A chat user (e.g. a Discord user id) linked to a purchasing account."""

    platform: str
    user_id: str
    account_id: int
    display_name: str = ""
    locale: str = "en"
    linked_at: datetime | None = None


@dataclass(frozen=True)
class Licence:
    key: str
    email: str
    product: str
    expires_at: datetime

    def valid_at(self, t: datetime) -> bool:
        return t < self.expires_at


@dataclass(frozen=True)
class Attachment:
    filename: str
    url: str
    content_type: str = ""
    size: int = 0


@dataclass
class Ticket:
    account_id: int
    customer_platform: str
    customer_user_id: str
    customer_name: str
    customer_email: str
    product: str
    subject: str
    magento_version: str
    module_version: str
    description: str
    steps: str
    changes: str
    errors: str
    opened_at: datetime
    licence_expires_at: datetime
    staff_channel: str
    locale: str = "en"
    status: TicketStatus = TicketStatus.AWAITING_STAFF
    assignee: str | None = None
    # The waiting period counts state changes; the reminder ledger keys on it so each
    # reminder fires once per period.
    period: int = 1
    waiting_since: datetime | None = None
    first_response_at: datetime | None = None
    # working time (seconds) from opening to first_response_at: statistics average it in SQL
    first_response_work_s: float | None = None
    # Deadlines, recomputed at each state change; None means "not armed".
    sla_warn_at: datetime | None = None
    sla_due_at: datetime | None = None
    nudge_at: datetime | None = None
    autoclose_warn_at: datetime | None = None
    autoclose_at: datetime | None = None
    # when to check the licence behind the ticket again (its expiry; disarmed once handled)
    licence_check_at: datetime | None = None
    # set when the answer promise was broken in the current waiting period (the card shows it)
    overdue_since: datetime | None = None
    closed_at: datetime | None = None
    close_reason: CloseReason | None = None
    closed_by: str | None = None
    # Platform references, filled in by the outbox dispatcher once delivered.
    customer_thread_ref: str | None = None
    staff_thread_ref: str | None = None
    id: int | None = None

    @property
    def number(self) -> int:
        assert self.id is not None, "ticket not stored yet"
        return self.id

    @property
    def is_open(self) -> bool:
        return self.status is not TicketStatus.CLOSED


@dataclass
class Message:
    ticket_id: int
    kind: MessageKind
    author_id: str
    author_name: str
    body: str
    created_at: datetime
    attachments: tuple[Attachment, ...] = ()
    # Platform ids of this message on each side, for edits and deletions.
    customer_ref: str | None = None
    staff_ref: str | None = None
    edited_at: datetime | None = None
    deleted: bool = False
    id: int | None = None


@dataclass
class OutboxItem:
    """An intention to call a platform, written in the same transaction as the state change."""

    target: Target
    action: str
    payload: dict[str, Any]
    created_at: datetime
    ticket_id: int | None = None
    message_id: int | None = None
    status: OutboxStatus = OutboxStatus.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    ref: str | None = None
    last_error: str | None = None
    leased_by: str | None = None  # the process delivering it now, while next_attempt_at is ahead
    id: int | None = None


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    ticket_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rating:
    """A customer's satisfaction with a closed ticket: once per ticket (bot/tickets/satisfaction.py)."""

    ticket_id: int
    score: int  # 1 to 5
    comment: str
    rated_at: datetime
    rated_by: str  # "platform:user id" of the ticket's customer


@dataclass
class AccessGrant:
    """Temporary access a customer sent on request: only ever stored encrypted, destroyed when
    the ticket closes or `expires_at` passes (whichever is first)."""

    ticket_id: int
    ciphertext: bytes
    expires_at: datetime
    created_at: datetime
    id: int | None = None
