"""In-memory implementations of the core's ports, for fast use-case tests (cosmicpython style).

Each unit of work works on a deep copy of the shared state and swaps it in on commit, so a
use case that fails leaves nothing behind, as a real transaction would.
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from dataclasses import replace
from datetime import UTC, datetime

from bot.domain import (
    AccessGrant,
    Account,
    AuditEntry,
    Identity,
    Licence,
    OutboxStatus,
    Rating,
)
from bot.ports import Delivery, RetryLater
from bot.time.clock import ManualClock
from tests.fake_state import State, _Repo
from tests.fake_tickets import Messages, Outbox, Tickets


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

    def __call__(self, *, autocommit: bool = False, durable: bool = True,
                 early_hand_off: bool = False) -> FakeUnitOfWork:
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
