"""The shared state the in-memory fakes (tests/fakes.py, tests/fake_tickets.py) work on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.domain import (
    AccessGrant,
    Account,
    AuditEntry,
    Identity,
    Licence,
    Message,
    OutboxItem,
    Rating,
    Ticket,
)


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
    def __init__(self, uow: Any) -> None:  # a tests.fakes.FakeUnitOfWork
        self.uow = uow

    @property
    def s(self) -> State:
        return self.uow.state
