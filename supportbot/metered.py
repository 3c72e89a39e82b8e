"""Wrappers that count what passes through the core's ports, for supportbot/metrics.py.

The core stays free of monitoring: the composition root wraps the delivery ports, the licence
source and the unit of work. Facts recorded inside a transaction (a duplicate event absorbed, a
reminder fired, a redaction audited) are counted only once that transaction commits; a duplicate
event is counted when it is met (the use case then leaves without committing).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast

from bot.domain import AuditEntry, Licence, Message, MessageKind
from bot.ports import (
    Clock,
    Delivery,
    DeliveryPort,
    LicenceSource,
    LicenceUnavailable,
    RetryLater,
    Undeliverable,
    UnitOfWork,
    UnitOfWorkFactory,
)
from bot.repositories import (
    AuditRepository,
    MessageRepository,
    OutboxRow,
    ProcessedEventRepository,
    ReminderLedger,
)
from supportbot.log_json import log_context
from supportbot.metrics import Metrics, platform_of

# the sides the core names inbound events by, as platforms
_SIDES = {"staff": "slack", "customer": "discord"}


class MeteredPort:
    """A delivery port that counts deliveries, failures and the time rows waited in the outbox."""

    def __init__(self, inner: DeliveryPort, platform: str, metrics: Metrics, clock: Clock) -> None:
        self.inner, self.platform, self.metrics, self.clock = inner, platform, metrics, clock

    async def deliver(self, delivery: Delivery) -> str | None:
        action = delivery.action
        ticket = delivery.ticket.number if delivery.ticket is not None else None
        try:
            with log_context(ticket, self.platform):  # what the adapter logs meanwhile says which
                ref = await self.inner.deliver(delivery)
        except Exception as exc:
            outcome = ("retry" if isinstance(exc, RetryLater) else
                       "undeliverable" if isinstance(exc, Undeliverable) else "error")
            self.metrics.delivery_failures.labels(self.platform, action, outcome).inc()
            raise
        self.metrics.deliveries.labels(self.platform, action).inc()
        if delivery.item is not None:
            waited = (self.clock.now() - delivery.item.created_at).total_seconds()
            self.metrics.delivery_latency.labels(self.platform).observe(max(waited, 0.0))
        return ref

    def __getattr__(self, name: str) -> Any:  # the adapter's own attributes (e.g. pacing)
        return getattr(self.inner, name)


def metered_ports(ports: dict[Any, DeliveryPort], metrics: Metrics, clock: Clock) -> dict[Any, DeliveryPort]:
    return {target: MeteredPort(port, platform_of(str(target)), metrics, clock) for target, port in ports.items()}


class MeteredLicences:
    """A licence source that counts look-ups by result."""

    def __init__(self, inner: LicenceSource, metrics: Metrics, clock: Clock) -> None:
        self.inner, self.metrics, self.clock = inner, metrics, clock

    def _count(self, licences: Sequence[Licence]) -> None:
        now = self.clock.now()
        result = ("unknown" if not licences else
                  "valid" if any(lic.expires_at > now for lic in licences) else "expired")
        self.metrics.licence_checks.labels(result).inc()

    async def lookup(self, key: str) -> Licence | None:
        try:
            licence = await self.inner.lookup(key)
        except LicenceUnavailable:
            self.metrics.licence_checks.labels("unavailable").inc()
            raise
        self._count([licence] if licence else [])
        return licence

    async def for_email(self, email: str) -> Sequence[Licence]:
        try:
            licences = await self.inner.for_email(email)
        except LicenceUnavailable:
            self.metrics.licence_checks.labels("unavailable").inc()
            raise
        self._count(licences)
        return licences

    def __getattr__(self, name: str) -> Any:  # close() of the HTTP source
        return getattr(self.inner, name)


Pending = list[Callable[[], None]]


class _Events:
    def __init__(self, inner: ProcessedEventRepository, metrics: Metrics) -> None:
        self.inner, self.metrics = inner, metrics

    async def first_time(self, platform: str, event_id: str, at: datetime) -> bool:
        first = await self.inner.first_time(platform, event_id, at)
        if not first:  # counted now: a use case that meets a duplicate leaves without committing
            self.metrics.duplicates.labels(_SIDES.get(platform, platform)).inc()
        return first


class _Messages:
    def __init__(self, inner: MessageRepository, metrics: Metrics) -> None:
        self.inner, self.metrics = inner, metrics

    async def add_new(self, message: Message, relays: Sequence[OutboxRow] = ()) -> Message | None:
        added = await self.inner.add_new(message, relays)
        if added is None:  # a duplicate event, as _Events counts them
            self.metrics.duplicates.labels(_SIDES["customer" if message.kind is MessageKind.CUSTOMER else "staff"]).inc()
        return added

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class _Reminders:
    COUNTED = {"sla_warning": "promise_warnings", "sla_breach": "promise_breaches"}

    def __init__(self, inner: ReminderLedger, metrics: Metrics, pending: Pending) -> None:
        self.inner, self.metrics, self.pending = inner, metrics, pending

    async def record(self, ticket_id: int, kind: str, period: int, at: datetime) -> bool:
        first = await self.inner.record(ticket_id, kind, period, at)
        if first and kind in self.COUNTED:
            self.pending.append(getattr(self.metrics, self.COUNTED[kind]).inc)
        return first


class _Audit:
    def __init__(self, inner: AuditRepository, metrics: Metrics, pending: Pending) -> None:
        self.inner, self.metrics, self.pending = inner, metrics, pending

    async def add(self, entry: AuditEntry) -> None:
        await self.inner.add(entry)
        if entry.action == "secret_redacted":
            for kind in entry.detail.get("kinds", []):
                self.pending.append(self.metrics.redactions.labels(str(kind)).inc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class MeteredUnitOfWork:
    """The store's unit of work, with four repositories watched; everything else is the inner one's."""

    def __init__(self, inner: UnitOfWork, metrics: Metrics) -> None:
        self._inner, self._metrics = inner, metrics
        self._pending: Pending = []

    async def __aenter__(self) -> MeteredUnitOfWork:
        inner = await self._inner.__aenter__()
        self._pending.clear()
        self.events = _Events(inner.events, self._metrics)
        self.messages = _Messages(inner.messages, self._metrics)
        self.reminders = _Reminders(inner.reminders, self._metrics, self._pending)
        self.audit = _Audit(inner.audit, self._metrics, self._pending)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._pending.clear()  # not committed: nothing happened
        await self._inner.__aexit__(*exc)

    async def commit(self) -> None:
        await self._inner.commit()
        for count in self._pending:
            count()
        self._pending.clear()

    async def rollback(self) -> None:
        await self._inner.rollback()
        self._pending.clear()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def metered_uow(factory: UnitOfWorkFactory, metrics: Metrics) -> UnitOfWorkFactory:
    def make(*, autocommit: bool = False, durable: bool = True, early_hand_off: bool = False) -> UnitOfWork:
        return cast(UnitOfWork, MeteredUnitOfWork(
            factory(autocommit=autocommit, durable=durable, early_hand_off=early_hand_off), metrics))

    return make
