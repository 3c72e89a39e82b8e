"""In-memory tickets, messages and outbox for the use-case tests (the rest is in tests/fakes.py)."""

from __future__ import annotations

import copy
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from bot.delivery.effects import tie
from bot.domain import (
    Message,
    MessageKind,
    OutboxItem,
    OutboxStatus,
    Target,
    Ticket,
)
from bot.repositories import OutboxRow, TicketStats, UnmeasuredAnswer
from tests.fake_state import _Repo


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

    async def by_customer_thread(self, ref: str, lock: bool = False) -> Ticket | None:
        return next(iter(self._where(lambda t: t.customer_thread_ref == ref)), None)

    async def by_staff_thread(self, ref: str, lock: bool = False) -> Ticket | None:
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

    async def add_new(self, message: Message, relays: Sequence[OutboxRow] = ()) -> Message | None:
        # as the unique indexes of migration 0008: the author's side, its ref
        kinds = {MessageKind.CUSTOMER} if message.kind is MessageKind.CUSTOMER else {MessageKind.STAFF, MessageKind.NOTE}
        side = "customer_ref" if message.kind is MessageKind.CUSTOMER else "staff_ref"
        ref = getattr(message, side)
        if ref is not None and any(m.kind in kinds and getattr(m, side) == ref for m in self.s.messages.values()):
            return None
        await self.add(message)
        tie(message, relays)
        await self.uow.outbox.add_all(relays)
        return message

    async def get(self, message_id: int) -> Message | None:
        return copy.copy(self.s.messages.get(message_id))

    async def save(self, message: Message) -> None:
        self.s.messages[message.id] = copy.copy(message)  # type: ignore[index]

    async def by_ref(self, side: str, ref: str) -> Message | None:
        attr = "customer_ref" if side == "customer" else "staff_ref"
        return next((copy.copy(m) for m in self.s.messages.values() if getattr(m, attr) == ref), None)

    async def authored_refs(self, ticket_ids: Collection[int], side: str) -> dict[int, list[tuple[str, datetime]]]:
        attr = "customer_ref" if side == "customer" else "staff_ref"
        found: dict[int, list[tuple[str, datetime]]] = {}
        for m in self.s.messages.values():
            authored = m.kind in ((MessageKind.CUSTOMER,) if side == "customer" else (MessageKind.STAFF, MessageKind.NOTE))
            if m.ticket_id in ticket_ids and getattr(m, attr) and authored:
                found.setdefault(m.ticket_id, []).append((getattr(m, attr), m.created_at))
        return found

    async def for_ticket(self, ticket_id: int, limit: int = 50) -> list[Message]:
        return [copy.copy(m) for m in self.s.messages.values() if m.ticket_id == ticket_id][-limit:]


class Outbox(_Repo):
    left_behind = False

    async def add(self, item: OutboxItem, ticket: object = None, message: object = None) -> OutboxItem:
        item.id = self.s.new_id()
        self.s.outbox[item.id] = copy.copy(item)
        return item

    async def add_all(self, rows: Sequence[tuple[OutboxItem, object, object]]) -> None:
        for item, ticket, message in rows:
            await self.add(item, ticket, message)

    async def get(self, item_id: int) -> OutboxItem | None:
        return copy.copy(self.s.outbox.get(item_id))

    async def has_older_pending(self, item: OutboxItem) -> bool:
        assert item.id is not None
        return any(o.ticket_id == item.ticket_id and o.target == item.target and o.status is OutboxStatus.PENDING
                   and o.id is not None and o.id < item.id for o in self.s.outbox.values())

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
        delivered_post = item.status is OutboxStatus.DELIVERED and item.action == "post" and item.ref
        if delivered_post and item.message_id in self.s.messages:  # as the SQL stores' trigger does
            setattr(self.s.messages[item.message_id], f"{item.target.value}_ref", item.ref)
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
                                 ) -> list[OutboxRow]:
        return [(item, copy.copy(self.s.tickets.get(item.ticket_id)) if item.ticket_id else None,
                 copy.copy(self.s.messages.get(item.message_id)) if item.message_id else None)
                for item in await self.claim_due(now, limit, targets)]

    async def next_due_at(self, targets: Collection[Target] | None = None) -> datetime | None:
        # as in SQL: a pending row never tried is due since it was created
        times = [i.next_attempt_at or i.created_at for i in self.s.outbox.values()
                 if i.status is OutboxStatus.PENDING and (targets is None or i.target in targets)]
        return min(times, default=None)
