"""The repositories the core reads and writes through, as protocols: storage/ implements them
on SQL, tests/fakes.py in memory. A unit of work (bot/ports.py) holds one of each."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.domain import (
    AccessGrant,
    Account,
    AuditEntry,
    Identity,
    Licence,
    Message,
    OutboxItem,
    Rating,
    Target,
    Ticket,
)

# an outbox row, with the ticket and message it names (what a delivery needs if handed over)
OutboxRow = tuple[OutboxItem, Ticket | None, Message | None]


class AccountRepository(Protocol):
    async def get(self, account_id: int) -> Account | None: ...
    async def get_or_create(self, email: str) -> Account: ...
    async def lock(self, account_id: int) -> None:
        """Hold the account's row until the transaction ends (PostgreSQL), so that two opens
        by one customer are checked one after the other (one subject, the open-ticket cap)."""
        ...


class IdentityRepository(Protocol):
    async def get(self, platform: str, user_id: str) -> Identity | None: ...
    async def for_account(self, account_id: int) -> list[Identity]:
        """Every identity linked to the account, first linked first."""
        ...

    async def save(self, identity: Identity) -> None:
        """Insert or update by (platform, user_id)."""
        ...


class LinkAttemptRepository(Protocol):
    """Failed link attempts, for throttling guesses of licence keys."""

    async def add(self, platform: str, user_id: str, at: datetime) -> None: ...
    async def since(self, platform: str, user_id: str, since: datetime) -> list[datetime]:
        """Times of failed attempts at or after `since`, oldest first."""
        ...


class LicenceRepository(Protocol):
    async def get(self, key: str) -> Licence | None: ...
    async def for_email(self, email: str) -> list[Licence]: ...
    async def upsert(self, licence: Licence) -> None: ...


@dataclass
class TicketStats:
    """One product's tickets over a period, as the database aggregates them."""

    product: str
    opened: int = 0
    closed: int = 0
    answered: int = 0  # of those opened, how many have a first answer with its working time
    answer_work_s: float = 0.0  # their first-answer working times, summed (seconds)
    answered_within: int = 0  # of those, how many within the answer promise


@dataclass(frozen=True)
class UnmeasuredAnswer:
    """A ticket answered before its first-answer working time was stored (older databases)."""

    product: str
    opened_at: datetime
    first_response_at: datetime


class TicketRepository(Protocol):
    async def add(self, ticket: Ticket) -> Ticket:
        """Store a new ticket; sets and returns it with its id (= its human number)."""
        ...

    async def get(self, ticket_id: int) -> Ticket | None: ...
    async def get_for_update(self, ticket_id: int) -> Ticket | None:
        """Like get, but locks the row until the transaction ends (PostgreSQL)."""
        ...

    async def save(self, ticket: Ticket) -> None: ...
    async def set_ref(self, ticket_id: int, column: str, ref: str) -> None:
        """Set only customer_thread_ref or staff_thread_ref (one UPDATE): deliveries to both
        platforms settle at once and must not overwrite each other's column."""
        ...

    async def open_for_account(self, account_id: int) -> list[Ticket]: ...
    async def for_account(self, account_id: int, limit: int = 25) -> list[Ticket]:
        """The account's tickets, newest first."""
        ...

    # `lock`: as get_for_update (which then answers from this transaction's copy)
    async def by_customer_thread(self, ref: str, lock: bool = False) -> Ticket | None: ...
    async def by_staff_thread(self, ref: str, lock: bool = False) -> Ticket | None: ...
    # `channels`: only tickets of these staff channels (a staff member's scope); None: all
    async def list_open(self, channels: Collection[str] | None = None) -> list[Ticket]: ...
    async def open_page(self, limit: int, *, assignee: str | None = None,
                        channels: Collection[str] | None = None) -> list[Ticket]:
        """At most `limit` open tickets (only `assignee`'s, if given), nearest sla_due_at first,
        then those without one, by number."""
        ...

    async def count_open(self, *, assignee: str | None = None, channels: Collection[str] | None = None) -> int:
        """How many open tickets the same filters give."""
        ...

    async def stats_between(self, start: datetime, end: datetime, promise_s: float,
                            channels: Collection[str] | None = None) -> list[TicketStats]:
        """Per product (sorted): opened and closed in [start, end), and the first answers."""
        ...

    async def unmeasured_answers(self, start: datetime, end: datetime,
                                 channels: Collection[str] | None = None) -> list[UnmeasuredAnswer]: ...
    async def opened_between(self, start: datetime, end: datetime,
                             channels: Collection[str] | None = None) -> list[Ticket]: ...
    async def closed_between(self, start: datetime, end: datetime,
                             channels: Collection[str] | None = None) -> list[Ticket]: ...
    async def claim_due(self, column: str, now: datetime, limit: int = 100) -> list[Ticket]:
        """Open tickets whose deadline `column` is <= now, locked for this transaction
        (FOR UPDATE SKIP LOCKED on PostgreSQL) so two sweepers never take the same row.
        `column` is one of: sla_warn_at, sla_due_at, nudge_at, autoclose_warn_at, autoclose_at,
        licence_check_at.
        """
        ...


class MessageRepository(Protocol):
    async def add(self, message: Message) -> Message: ...
    async def add_new(self, message: Message, relays: Sequence[OutboxRow] = ()) -> Message | None:
        """Store a message a person wrote, unless one with the same platform id on their side
        (customer_ref for a customer's, staff_ref for staff's) is stored: then None, a duplicate
        event, and nothing is written. The adapters' event ids are those platform ids. `relays`:
        outbox rows made for it before it had an id (each row whose message it is gets its id),
        added as OutboxRepository.add_all adds them, with the message in one statement where the
        store can (PostgreSQL)."""
        ...
    async def get(self, message_id: int) -> Message | None: ...
    async def save(self, message: Message) -> None: ...
    async def by_ref(self, side: str, ref: str) -> Message | None:
        """side is 'customer' or 'staff'; ref the platform id of the message on that side."""
        ...

    async def authored_refs(self, ticket_ids: Collection[int], side: str) -> dict[int, list[tuple[str, datetime]]]:
        """The platform references of the messages people on `side` wrote in these tickets (customer
        messages for "customer"; staff answers and notes for "staff"), each with when it was
        stored, by ticket id: where a catch-up after downtime resumes reading a thread. The bot's
        own copies of the other side's messages are left out: they may be newer than what was missed."""
        ...

    async def for_ticket(self, ticket_id: int, limit: int = 50) -> list[Message]:
        """The ticket's last `limit` messages, oldest first."""
        ...


class OutboxRepository(Protocol):
    # after claim_due: whether a claimed row has a newer pending row of its ticket and target
    # waiting behind it (due once the claimed one is delivered: the dispatcher looks again)
    left_behind: bool

    async def add(self, item: OutboxItem, ticket: Ticket | None = None,
                  message: Message | None = None) -> OutboxItem:
        """Store `item`; `ticket` and `message` (those it names, as they will be committed) go
        with it if it is handed to this process's dispatcher (bot/delivery/new_rows.py)."""
        ...

    async def add_all(self, rows: Sequence[OutboxRow]) -> None:
        """add() each row, in order; in one statement where the store can (a use case's rows)."""
        ...

    async def get(self, item_id: int) -> OutboxItem | None: ...
    async def has_older_pending(self, item: OutboxItem) -> bool:
        """Whether an older row of the item's ticket and target is pending (waiting, leased or retrying)."""
        ...

    async def save(self, item: OutboxItem) -> None: ...
    async def lease(self, item: OutboxItem) -> None:
        """Write a claimed row's delivery state (attempts, next_attempt_at, leased_by) and nothing
        else: what a row asks for (target, action, payload) never changes after it is added."""
        ...

    async def claim_due(self, now: datetime, limit: int = 50,
                        targets: Collection[Target] | None = None) -> list[OutboxItem]:
        """Pending rows whose next_attempt_at is null or <= now, oldest first, and only the
        oldest pending row of each (ticket, target) pair (order within a ticket is kept per
        destination, so a Slack outage does not hold back Discord), locked for this
        transaction (FOR UPDATE SKIP LOCKED on PostgreSQL). With `targets`, only rows for
        those (a process serving Slack only leaves Discord's rows to the process that can)."""
        ...

    async def claim_with_context(self, now: datetime, limit: int = 50, targets: Collection[Target] | None = None,
                                 ) -> list[OutboxRow]:
        """claim_due, each row with its ticket and message as they are now (one round trip)."""
        ...

    async def settle(self, item: OutboxItem, owner: str) -> bool:
        """Save a leased row only while `owner` still holds its lease; False if it lost it. A
        delivered post's ref becomes its message's ref on that side (customer_ref or staff_ref)."""
        ...

    async def renew(self, ids: Collection[int], owner: str, until: datetime) -> None:
        """Push ahead the leases `owner` still holds on these rows (a heartbeat)."""
        ...

    async def lease_owners(self, now: datetime) -> list[str]:
        """Owners of the leases that are running now."""
        ...

    async def release(self, owner: str, now: datetime) -> int:
        """Make the rows leased by `owner` (a process that died) due now, their owner kept as the
        mark of an interrupted attempt; returns how many."""
        ...

    async def next_due_at(self, targets: Collection[Target] | None = None) -> datetime | None:
        """The earliest next_attempt_at among pending rows (of `targets`, if given), a row never
        tried counting from its created_at (None if none pending)."""
        ...


class ProcessedEventRepository(Protocol):
    async def first_time(self, platform: str, event_id: str, at: datetime) -> bool:
        """Record the event; True the first time, False if it was already recorded.
        Atomic (unique key): two processes racing on one event get one True."""
        ...


class ReminderLedger(Protocol):
    async def record(self, ticket_id: int, kind: str, period: int, at: datetime) -> bool:
        """True the first time (ticket, kind, period) is recorded, False afterwards. Atomic."""
        ...

    async def record_desk(self, kind: str, period: int, at: datetime) -> bool:
        """The same for desk-wide events with no ticket (the weekly report): True the first time."""
        ...


class RatingRepository(Protocol):
    async def add(self, rating: Rating) -> bool:
        """Store the ticket's rating; False (and nothing stored) if it has one already. Atomic."""
        ...

    async def get(self, ticket_id: int) -> Rating | None: ...
    async def for_tickets(self, ticket_ids: Collection[int]) -> dict[int, Rating]: ...


class HousekeepingRepository(Protocol):
    """Deletes what no query needs any more (bot/delivery/housekeeping.py), at most `limit` rows a call."""

    async def prune_delivered_outbox(self, before: datetime, limit: int) -> int:
        """Outbox rows delivered before `before` (never pending or dead ones); returns how many."""
        ...

    async def prune_processed_events(self, before: datetime, limit: int) -> int:
        """Processed events recorded before `before`; returns how many."""
        ...


class AuditRepository(Protocol):
    async def add(self, entry: AuditEntry) -> None: ...
    async def for_ticket(self, ticket_id: int) -> list[AuditEntry]: ...


class AccessRepository(Protocol):
    """Encrypted temporary access (bot/secrets/access.py); never holds clear text."""

    async def add(self, grant: AccessGrant) -> AccessGrant: ...
    async def get_for_ticket(self, ticket_id: int, now: datetime) -> AccessGrant | None:
        """The ticket's latest grant still valid at `now`, if any."""
        ...

    async def delete_for_ticket(self, ticket_id: int) -> int:
        """Destroy every grant of the ticket; returns how many."""
        ...

    async def expired(self, now: datetime, limit: int = 100) -> list[AccessGrant]:
        """Grants whose expires_at <= now, oldest first."""
        ...

    async def delete(self, grant_id: int) -> None: ...
