"""The Prometheus series of one running bot (GET /metrics on HEALTH_PORT).

Counters and histograms are fed by the wrappers in supportbot/metered.py and the platform hooks
in supportbot/metrics_inbound.py; the outbox depth and open tickets are counted in the database
at each scrape. Labels stay few and bounded: platforms, actions, states, products, kinds; never
a ticket, user or message id.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain import Target
from storage.stats import open_tickets, outbox_depth

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# what serves each outbox target when the bot runs with its platforms
PLATFORMS = {Target.CUSTOMER.value: "discord", Target.STAFF.value: "slack", Target.EMAIL.value: "email"}
LATENCY_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600)
SWEEP_BUCKETS = (0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


def platform_of(target: str) -> str:
    return PLATFORMS.get(target, target)


class _DatabaseCounts(Collector):
    """Gauges read from the database: refreshed by `Metrics.render` before each exposition, so a
    series that fell to nothing disappears instead of keeping its last value."""

    def __init__(self) -> None:
        self.outbox: list[tuple[str, str, int]] = []
        self.tickets: list[tuple[str, str, int]] = []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("supportbot_outbox_rows", "Outbox rows not delivered yet, by platform and state",
                                  labels=["platform", "state"])
        for target, state, count in self.outbox:
            depth.add_metric([platform_of(target), state], count)
        yield depth
        tickets = GaugeMetricFamily("supportbot_tickets_open", "Open tickets by status and product",
                                    labels=["status", "product"])
        for status, product, count in self.tickets:
            tickets.add_metric([status, product], count)
        yield tickets


class Metrics:
    """Every series, in a registry of its own (one per runtime: tests run several side by side)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.deliveries = Counter("supportbot_deliveries", "Outbox rows delivered, by platform and action",
                                  ["platform", "action"], registry=r)
        self.delivery_failures = Counter(
            "supportbot_delivery_failures", "Failed delivery attempts, by platform, action and outcome "
            "(retry: tried again later; undeliverable: given up; error: a bug, tried again)",
            ["platform", "action", "outcome"], registry=r)
        self.delivery_latency = Histogram("supportbot_delivery_latency_seconds",
                                          "From queued in the outbox to delivered", ["platform"],
                                          buckets=LATENCY_BUCKETS, registry=r)
        self.inbound = Counter("supportbot_inbound_events", "Events received from the platforms, by kind",
                               ["platform", "kind"], registry=r)
        self.caught_up = Counter("supportbot_catch_up_messages",
                                 "Messages written while no session heard them (downtime, a new Discord "
                                 "session), read from thread history and relayed", ["platform"], registry=r)
        self.duplicates = Counter("supportbot_inbound_duplicates",
                                  "Inbound events seen before (platform retries, other processes), absorbed",
                                  ["platform"], registry=r)
        self.promise_warnings = Counter("supportbot_answer_promise_warnings",
                                        "Staff warned that a ticket's answer deadline is near", registry=r)
        self.promise_breaches = Counter("supportbot_answer_promise_breaches",
                                        "Tickets whose answer deadline passed unanswered", registry=r)
        self.sweep_duration = Histogram("supportbot_sweep_duration_seconds", "One pass of the deadline sweep",
                                        buckets=SWEEP_BUCKETS, registry=r)
        self.licence_checks = Counter("supportbot_licence_checks",
                                      "Licence look-ups by result (valid, expired, unknown, unavailable)",
                                      ["result"], registry=r)
        self.redactions = Counter("supportbot_redactions", "Credentials removed from customer messages, by kind",
                                  ["kind"], registry=r)
        self._counts = _DatabaseCounts()
        r.register(self._counts)

    async def render(self, engine: AsyncEngine) -> bytes:
        """The text exposition, with the database counts read now."""
        self._counts.outbox = await outbox_depth(engine)
        self._counts.tickets = await open_tickets(engine)
        return generate_latest(self.registry)
