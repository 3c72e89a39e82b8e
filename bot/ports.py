"""The core's ports: what it needs from the outside, as small protocols.

Storage implements the unit of work (storage/) over the repositories of bot/repositories.py,
adapters implement the delivery ports (adapters/), tests implement all of them in memory
(tests/fakes.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, Self

from bot.domain import (
    Licence,
    Message,
    OutboxItem,
    Ticket,
)
from bot.repositories import (
    AccessRepository,
    AccountRepository,
    AuditRepository,
    HousekeepingRepository,
    IdentityRepository,
    LicenceRepository,
    LinkAttemptRepository,
    MessageRepository,
    OutboxRepository,
    ProcessedEventRepository,
    RatingRepository,
    ReminderLedger,
    TicketRepository,
)


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
        ...


class Cipher(Protocol):
    """Symmetric encryption of access at rest; implemented outside the core (adapters/crypto.py)."""

    def encrypt(self, data: bytes) -> bytes: ...
    def decrypt(self, token: bytes) -> bytes:
        """Raises ValueError when the token cannot be read (another key, tampered)."""
        ...


class UnitOfWork(Protocol):
    """One transaction. `async with uow:` begins; leaving without commit() rolls back."""

    accounts: AccountRepository
    identities: IdentityRepository
    link_attempts: LinkAttemptRepository
    licences: LicenceRepository
    tickets: TicketRepository
    messages: MessageRepository
    outbox: OutboxRepository
    events: ProcessedEventRepository
    reminders: ReminderLedger
    audit: AuditRepository
    access: AccessRepository
    ratings: RatingRepository
    housekeeping: HousekeepingRepository

    async def __aenter__(self) -> Self: ...
    async def __aexit__(self, *exc: object) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, autocommit: bool = False, durable: bool = True,
                 early_hand_off: bool = False) -> UnitOfWork:
        """`autocommit`: each statement commits on its own, no transaction around them (no BEGIN,
        no COMMIT sent); for a unit that writes one statement, atomic by itself. `durable=False`:
        the commit returns before it reaches the disk, so a power cut (not a crash of the process)
        may undo it within a fraction of a second; for what is recovered anyway.
        `early_hand_off`: the outbox rows it wrote may reach this process's dispatcher once the
        commit is visible, while it still goes to the disk (commit() returns once it is there); for
        a relayed message, which its platform gives again were a power cut to undo the commit
        (a duplicate then, never a loss)."""
        ...


# --- licences ----------------------------------------------------------------------


class LicenceUnavailable(Exception):
    """The licence source could not answer (timeout, server error): never a yes."""


class LicenceSource(Protocol):
    async def lookup(self, key: str) -> Licence | None:
        """The licence with this key, None if the source does not know it.
        Raises LicenceUnavailable when it cannot tell."""
        ...

    async def for_email(self, email: str) -> Sequence[Licence]:
        """Every licence bought with this e-mail. Raises LicenceUnavailable."""
        ...


# --- delivery ------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One outbox row as a platform port sees it: the action, its data, and the ticket and
    message as they were when the row was leased (see the outbox contract in bot/delivery/effects.py)."""

    item_id: int
    action: str
    payload: dict
    ticket: Ticket | None
    message: Message | None
    item: OutboxItem | None = field(default=None, repr=False, compare=False)  # the dispatcher's own
    # an earlier attempt died without settling (a crash, an expired lease): the platform may
    # already have what it sent, so a port that can tell looks before sending again
    interrupted: bool = False


class RetryLater(Exception):
    """A delivery failed for now (rate limit, network, 5xx): retry, after `retry_after` s if given."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class Undeliverable(Exception):
    """A delivery can never succeed as it is (e.g. the channel does not exist)."""


class DeliveryPort(Protocol):
    """A port may also define `lane(delivery) -> Hashable`: deliveries in different lanes are
    made side by side, those of one lane in order (bot/delivery/lanes.py). Rows of one ticket must share
    a lane."""

    async def deliver(self, delivery: Delivery) -> str | None:
        """Make the platform call; return the platform id of what was created, if any.
        Raise RetryLater or Undeliverable on failure."""
        ...
