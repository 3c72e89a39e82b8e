"""In-memory implementations of the core's ports, for fast use-case tests (cosmicpython style).

Each unit of work works on a deep copy of the shared state and swaps it in on commit, so a
use case that fails leaves nothing behind, as a real transaction would.
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from bot.domain import (
    AccessGrant,
    Account,
    AuditEntry,
    Identity,
    Licence,
    Message,
    MessageKind,
    OutboxItem,
    OutboxStatus,
    Rating,
    Target,
    Ticket,
)
from bot.ports import Delivery, RetryLater
from bot.repositories import TicketStats, UnmeasuredAnswer
from bot.time.clock import ManualClock


@dataclass
class State:
    accounts: dict[int, Account] = field(default_factory=dict)
    identities: dict[tuple[str, str], Identity] = field(default_factory=dict)
    attempts: list[tuple[str, str, datetime]] = field(default_factory=list)
    licences: dict[str, Licence] = field(default_factory=dict)
    tickets: dict[int, Ticket] = field(default_factory=dict)
    messages: dict[int, Message] = field(default_factory=dict)
    outbox: dict[int, OutboxItem] = field(default_factory=dict)
    events: set[tuple[str, str]] = field(default_factory=set)
    ledger: set[tuple[int, str, int]] = field(default_factory=set)
    audit: list[AuditEntry] = field(default_factory=list)
    access: dict[int, AccessGrant] = field(default_factory=dict)
    ratings: dict[int, Rating] = field(default_factory=dict)
    next_id: int = 1

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1


class _Repo:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow

    @property
    def s(self) -> State:
        return self.uow.state


class Accounts(_Repo):
    async def get(self, account_id: int) -> Account | None:
        return copy.copy(self.s.accounts.get(account_id))

    async def get_or_create(self, email: str) -> Account:
        for a in self.s.accounts.values():
            if a.email == email:
                return copy.copy(a)
        account = Account(email, self.s.new_id())
        self.s.accounts[account.id] = account  # type: ignore[index]
        return copy.copy(account)

    async def lock(self, account_id: int) -> None:
        pass  # one event loop, whole-state commits: nothing to race here


class Identities(_Repo):
    async def get(self, platform: str, user_id: str) -> Identity | None:
        return copy.copy(self.s.identities.get((platform, user_id)))

    async def save(self, identity: Identity) -> None:
        self.s.identities[(identity.platform, identity.user_id)] = copy.copy(identity)

    async def for_account(self, account_id: int) -> list[Identity]:
        mine = [copy.copy(i) for i in self.s.identities.values() if i.account_id == account_id]
        return sorted(mine, key=lambda i: i.linked_at or datetime.min.replace(tzinfo=UTC))


class LinkAttempts(_Repo):
    async def add(self, platform: str, user_id: str, at: datetime) -> None:
        self.s.attempts.append((platform, user_id, at))

    async def since(self, platform: str, user_id: str, since: datetime) -> list[datetime]:
        return sorted(at for p, u, at in self.s.attempts if (p, u) == (platform, user_id) and at >= since)


class Licences(_Repo):
    async def get(self, key: str) -> Licence | None:
        return next((lic for k, lic in self.s.licences.items() if k.lower() == key.lower()), None)

    async def for_email(self, email: str) -> list[Licence]:
        return [lic for lic in self.s.licences.values() if lic.email == email]

    async def upsert(self, licence: Licence) -> None:
        self.s.licences[licence.key] = licence


class Tickets(_Repo):
    async def add(self, ticket: Ticket) -> Ticket:
        ticket.id = self.s.new_id()
        self.s.tickets[ticket.id] = copy.copy(ticket)
        return ticket

    async def get(self, ticket_id: int) -> Ticket | None:
        return copy.copy(self.s.tickets.get(ticket_id))

    get_for_update = get

    async def save(self, ticket: Ticket) -> None:
        self.s.tickets[ticket.number] = copy.copy(ticket)

    async def set_ref(self, ticket_id: int, column: str, ref: str) -> None:
        setattr(self.s.tickets[ticket_id], column, ref)

    def _where(self, pred: Any) -> list[Ticket]:
        return [copy.copy(t) for t in sorted(self.s.tickets.values(), key=lambda t: t.number) if pred(t)]

    async def open_for_account(self, account_id: int) -> list[Ticket]:
        return self._where(lambda t: t.account_id == account_id and t.is_open)

    async def for_account(self, account_id: int, limit: int = 25) -> list[Ticket]:
        return list(reversed(self._where(lambda t: t.account_id == account_id)))[:limit]

    async def by_customer_thread(self, ref: str) -> Ticket | None:
        return next(iter(self._where(lambda t: t.customer_thread_ref == ref)), None)

    async def by_staff_thread(self, ref: str) -> Ticket | None:
        return next(iter(self._where(lambda t: t.staff_thread_ref == ref)), None)

    async def list_open(self, channels: Collection[str] | None = None) -> list[Ticket]:
        return self._where(lambda t: t.is_open and (channels is None or t.staff_channel in channels))

    async def opened_between(self, start: datetime, end: datetime,
                             channels: Collection[str] | None = None) -> list[Ticket]:
        return self._where(lambda t: start <= t.opened_at < end and (channels is None or t.staff_channel in channels))

    def _open(self, assignee: str | None, channels: Collection[str] | None) -> list[Ticket]:
        return self._where(lambda t: t.is_open and (assignee is None or t.assignee == assignee)
                           and (channels is None or t.staff_channel in channels))

    async def open_page(self, limit: int, *, assignee: str | None = None,
                        channels: Collection[str] | None = None) -> list[Ticket]:
        mine = self._open(assignee, channels)
        dated = sorted((t for t in mine if t.sla_due_at), key=lambda t: (t.sla_due_at, t.number))
        return (dated + [t for t in mine if t.sla_due_at is None])[:limit]

    async def count_open(self, *, assignee: str | None = None, channels: Collection[str] | None = None) -> int:
        return len(self._open(assignee, channels))

    async def stats_between(self, start: datetime, end: datetime, promise_s: float,
                            channels: Collection[str] | None = None) -> list[TicketStats]:
        stats: dict[str, TicketStats] = {}
        seen = lambda t: channels is None or t.staff_channel in channels  # noqa: E731
        for t in self._where(lambda t: start <= t.opened_at < end and seen(t)):
            row = stats.setdefault(t.product, TicketStats(t.product))
            row.opened += 1
            if t.first_response_work_s is not None:
                row.answered += 1
                row.answer_work_s += t.first_response_work_s
                row.answered_within += t.first_response_work_s <= promise_s
        for t in self._where(lambda t: t.closed_at is not None and start <= t.closed_at < end and seen(t)):
            stats.setdefault(t.product, TicketStats(t.product)).closed += 1
        return [stats[p] for p in sorted(stats)]

    async def unmeasured_answers(self, start: datetime, end: datetime,
                                 channels: Collection[str] | None = None) -> list[UnmeasuredAnswer]:
        return [UnmeasuredAnswer(t.product, t.opened_at, t.first_response_at)
                for t in self._where(lambda t: start <= t.opened_at < end and t.first_response_at is not None
                                     and t.first_response_work_s is None
                                     and (channels is None or t.staff_channel in channels))
                if t.first_response_at is not None]

    async def closed_between(self, start: datetime, end: datetime,
                             channels: Collection[str] | None = None) -> list[Ticket]:
        return self._where(lambda t: t.closed_at is not None and start <= t.closed_at < end
                           and (channels is None or t.staff_channel in channels))

    async def claim_due(self, column: str, now: datetime, limit: int = 100) -> list[Ticket]:
        due = self._where(lambda t: t.is_open and getattr(t, column) is not None and getattr(t, column) <= now)
        return sorted(due, key=lambda t: getattr(t, column))[:limit]


class Messages(_Repo):
    async def add(self, message: Message) -> Message:
        message.id = self.s.new_id()
        self.s.messages[message.id] = copy.copy(message)
        return message

    async def get(self, message_id: int) -> Message | None:
        return copy.copy(self.s.messages.get(message_id))

    async def save(self, message: Message) -> None:
        self.s.messages[message.id] = copy.copy(message)  # type: ignore[index]

    async def set_ref(self, message_id: int, side: str, ref: str) -> None:
        setattr(self.s.messages[message_id], "customer_ref" if side == "customer" else "staff_ref", ref)

    async def by_ref(self, side: str, ref: str) -> Message | None:
        attr = "customer_ref" if side == "customer" else "staff_ref"
        return next((copy.copy(m) for m in self.s.messages.values() if getattr(m, attr) == ref), None)

    async def authored_refs(self, ticket_ids: Collection[int], side: str) -> dict[int, list[str]]:
        attr = "customer_ref" if side == "customer" else "staff_ref"
        found: dict[int, list[str]] = {}
        for m in self.s.messages.values():
            authored = m.kind in ((MessageKind.CUSTOMER,) if side == "customer" else (MessageKind.STAFF, MessageKind.NOTE))
            if m.ticket_id in ticket_ids and getattr(m, attr) and authored:
                found.setdefault(m.ticket_id, []).append(getattr(m, attr))
        return found

    async def for_ticket(self, ticket_id: int, limit: int = 50) -> list[Message]:
        return [copy.copy(m) for m in self.s.messages.values() if m.ticket_id == ticket_id][-limit:]


class Outbox(_Repo):
    left_behind = False

    async def add(self, item: OutboxItem) -> OutboxItem:
        item.id = self.s.new_id()
        self.s.outbox[item.id] = copy.copy(item)
        return item

    async def get(self, item_id: int) -> OutboxItem | None:
        return copy.copy(self.s.outbox.get(item_id))

    async def save(self, item: OutboxItem) -> None:
        self.s.outbox[item.id] = copy.copy(item)  # type: ignore[index]

    async def lease(self, item: OutboxItem) -> None:
        await self.save(item)

    async def settle(self, item: OutboxItem, owner: str) -> bool:
        held = self.s.outbox.get(item.id)  # type: ignore[arg-type]
        if held is None or held.leased_by != owner:
            return False
        item.leased_by = None
        await self.save(item)
        return True

    async def renew(self, ids: Collection[int], owner: str, until: datetime) -> None:
        for i in ids:
            item = self.s.outbox.get(i)
            if item is not None and item.leased_by == owner and item.status is OutboxStatus.PENDING:
                item.next_attempt_at = until

    async def lease_owners(self, now: datetime) -> list[str]:
        return sorted({i.leased_by for i in self.s.outbox.values() if i.leased_by and i.status is OutboxStatus.PENDING
                       and i.next_attempt_at is not None and i.next_attempt_at > now})

    async def release(self, owner: str, now: datetime) -> int:
        mine = [i for i in self.s.outbox.values() if i.leased_by == owner and i.status is OutboxStatus.PENDING]
        for item in mine:
            item.next_attempt_at = now
        return len(mine)

    async def claim_due(self, now: datetime, limit: int = 50,
                        targets: Collection[Target] | None = None) -> list[OutboxItem]:
        pending = sorted((i for i in self.s.outbox.values() if i.status is OutboxStatus.PENDING
                          and (targets is None or i.target in targets)), key=lambda i: i.id or 0)
        seen: set[tuple[int, str]] = set()
        due = []
        self.left_behind = False
        for item in pending:
            if item.ticket_id is not None:
                if (item.ticket_id, item.target) in seen:
                    self.left_behind = True
                    continue
                seen.add((item.ticket_id, item.target))
            if item.next_attempt_at is None or item.next_attempt_at <= now:
                due.append(copy.copy(item))
        return due[:limit]

    async def claim_with_context(self, now: datetime, limit: int = 50, targets: Collection[Target] | None = None,
                                 ) -> list[tuple[OutboxItem, Ticket | None, Message | None]]:
        return [(item, copy.copy(self.s.tickets.get(item.ticket_id)) if item.ticket_id else None,
                 copy.copy(self.s.messages.get(item.message_id)) if item.message_id else None)
                for item in await self.claim_due(now, limit, targets)]

    async def next_due_at(self, targets: Collection[Target] | None = None) -> datetime | None:
        # as in SQL: a pending row never tried is due since it was created
        times = [i.next_attempt_at or i.created_at for i in self.s.outbox.values()
                 if i.status is OutboxStatus.PENDING and (targets is None or i.target in targets)]
        return min(times, default=None)


class Events(_Repo):
    async def first_time(self, platform: str, event_id: str, at: datetime) -> bool:
        if (platform, event_id) in self.s.events:
            return False
        self.s.events.add((platform, event_id))
        return True


class Ledger(_Repo):
    async def record(self, ticket_id: int, kind: str, period: int, at: datetime) -> bool:
        if (ticket_id, kind, period) in self.s.ledger:
            return False
        self.s.ledger.add((ticket_id, kind, period))
        return True

    async def record_desk(self, kind: str, period: int, at: datetime) -> bool:
        return await self.record(0, kind, period, at)  # no ticket 0 exists: a key of its own


class Audit(_Repo):
    async def add(self, entry: AuditEntry) -> None:
        self.s.audit.append(entry)

    async def for_ticket(self, ticket_id: int) -> list[AuditEntry]:
        return [e for e in self.s.audit if e.ticket_id == ticket_id]


class Access(_Repo):
    async def add(self, grant: AccessGrant) -> AccessGrant:
        grant.id = self.s.new_id()
        self.s.access[grant.id] = copy.copy(grant)
        return grant

    async def get_for_ticket(self, ticket_id: int, now: datetime) -> AccessGrant | None:
        live = [g for g in self.s.access.values() if g.ticket_id == ticket_id and g.expires_at > now]
        return copy.copy(max(live, key=lambda g: (g.created_at, g.id or 0), default=None))

    async def delete_for_ticket(self, ticket_id: int) -> int:
        gone = [i for i, g in self.s.access.items() if g.ticket_id == ticket_id]
        for i in gone:
            del self.s.access[i]
        return len(gone)

    async def expired(self, now: datetime, limit: int = 100) -> list[AccessGrant]:
        due = sorted((g for g in self.s.access.values() if g.expires_at <= now), key=lambda g: (g.expires_at, g.id or 0))
        return [copy.copy(g) for g in due[:limit]]

    async def delete(self, grant_id: int) -> None:
        self.s.access.pop(grant_id, None)


class Ratings(_Repo):
    async def add(self, rating: Rating) -> bool:
        if rating.ticket_id in self.s.ratings:
            return False
        self.s.ratings[rating.ticket_id] = rating
        return True

    async def get(self, ticket_id: int) -> Rating | None:
        return self.s.ratings.get(ticket_id)

    async def for_tickets(self, ticket_ids: Collection[int]) -> dict[int, Rating]:
        return {i: r for i, r in self.s.ratings.items() if i in ticket_ids}
class Housekeeping(_Repo):
    async def prune_delivered_outbox(self, before: datetime, limit: int) -> int:
        old = [i for i, o in sorted(self.s.outbox.items()) if o.status is OutboxStatus.DELIVERED
               and o.delivered_at is not None and o.delivered_at < before][:limit]
        for item_id in old:
            del self.s.outbox[item_id]
        return len(old)

    async def prune_processed_events(self, before: datetime, limit: int) -> int:
        return 0  # the fake keeps no times for events


class FakeUnitOfWork:
    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.state = copy.deepcopy(store.state)
        self.accounts, self.identities, self.link_attempts = Accounts(self), Identities(self), LinkAttempts(self)
        self.licences, self.tickets, self.messages = Licences(self), Tickets(self), Messages(self)
        self.outbox, self.events, self.reminders, self.audit = Outbox(self), Events(self), Ledger(self), Audit(self)
        self.access, self.housekeeping = Access(self), Housekeeping(self)
        self.ratings = Ratings(self)

    async def __aenter__(self) -> FakeUnitOfWork:
        return self

    async def __aexit__(self, *exc: object) -> None:
        pass

    async def commit(self) -> None:
        self.store.state = self.state
        self.state = copy.deepcopy(self.state)
        self.store.commits += 1

    async def rollback(self) -> None:
        self.state = copy.deepcopy(self.store.state)


class FakeStore:
    """The shared 'database'; call it to get a unit of work."""

    def __init__(self) -> None:
        self.state = State()
        self.commits = 0

    def __call__(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)


class RecordingPort:
    """A delivery port that records what it was asked to deliver; can be told to fail."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.delivered: list[Delivery] = []
        self.fail_next: list[Exception] = []
        self._n = 0

    async def deliver(self, delivery: Delivery) -> str | None:
        if self.fail_next:
            raise self.fail_next.pop(0)
        self._n += 1
        self.delivered.append(replace(delivery))
        return f"{self.name}-{self._n}"

    def actions(self) -> list[str]:
        return [d.action for d in self.delivered]


__all__ = ["FakeStore", "ManualClock", "RecordingPort", "RetryLater"]
