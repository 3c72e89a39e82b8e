"""Builders shared by the core's tests: a desk on in-memory fakes, a policy, licences."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.commands import Customer, LinkAccount, OpenTicket, Staff
from bot.customers.licences import StoredLicences
from bot.delivery.outbox import Dispatcher
from bot.desk import Desk
from bot.domain import Licence, Target
from bot.policy import ManualPage, Policy, Product
from bot.ports import UnitOfWorkFactory
from bot.time.calendar import BusinessCalendar
from tests.fakes import FakeStore, ManualClock, RecordingPort

# Thursday 3 December 2026, 10:00 at UTC+1: the desk is open
OPEN_TIME = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
ALICE = Customer("discord", "u-alice", "Alice", "en")
BOB = Staff("s-bob", "Bob", frozenset({"support-seo", "support-checkout"}))  # staff of both products


def make_policy(**overrides: object) -> Policy:
    products = {
        "seo-suite": Product("seo-suite", "SEO Suite", "support-seo",
                             (ManualPage("Sitemap settings", "https://docs.example.com/seo/sitemap", ("sitemap", "xml")),)),
        "one-step-checkout": Product("one-step-checkout", "One Step Checkout", "support-checkout"),
    }
    return Policy(**{"calendar": BusinessCalendar.default(), "products": products, **overrides})  # type: ignore[arg-type]


def make_desk(store: FakeStore | None = None, clock: ManualClock | None = None, **policy: object) -> Desk:
    store = store or FakeStore()
    clock = clock or ManualClock(OPEN_TIME)
    store.state.licences.update({
        "SEO-ALICE": Licence("SEO-ALICE", "alice@example.com", "seo-suite", datetime(2027, 6, 1, tzinfo=UTC)),
        "OSC-ALICE": Licence("OSC-ALICE", "alice@example.com", "one-step-checkout", datetime(2026, 11, 1, tzinfo=UTC)),
        "SEO-CAROL": Licence("SEO-CAROL", "carol@example.com", "seo-suite", datetime(2027, 6, 1, tzinfo=UTC)),
    })
    return Desk(store, clock, make_policy(**policy), StoredLicences(store))


def form(customer: Customer = ALICE, **overrides: str) -> OpenTicket:
    fields = {
        "product": "seo-suite", "subject": "Sitemap is empty", "magento_version": "2.4.6",
        "module_version": "1.3.0", "description": "The XML sitemap has no products.",
        "steps": "Generate the sitemap in admin.", "changes": "Upgraded to 1.3.0 yesterday.",
    }
    fields.update(overrides)
    return OpenTicket(customer, **fields)


def link(customer: Customer = ALICE, email: str = "alice@example.com", key: str = "SEO-ALICE") -> LinkAccount:
    return LinkAccount(customer, email, key)


def make_dispatcher(desk: Desk) -> tuple[Dispatcher, RecordingPort, RecordingPort, RecordingPort]:
    customer, staff, email = RecordingPort("c"), RecordingPort("s"), RecordingPort("e")
    ports = {Target.CUSTOMER: customer, Target.STAFF: staff, Target.EMAIL: email}
    return Dispatcher(desk.uow, desk.clock, ports), customer, staff, email  # type: ignore[arg-type]


LICENCES = (
    Licence("SEO-ALICE", "alice@example.com", "seo-suite", datetime(2027, 6, 1, tzinfo=UTC)),
    Licence("OSC-ALICE", "alice@example.com", "one-step-checkout", datetime(2026, 11, 1, tzinfo=UTC)),
    Licence("SEO-CAROL", "carol@example.com", "seo-suite", datetime(2027, 6, 1, tzinfo=UTC)),
)


async def make_sql_desk(uow_factory: UnitOfWorkFactory, clock: ManualClock | None = None, **policy: object) -> Desk:
    """make_desk's desk on a real database (the `uow_factory` fixture), with the same licences."""
    async with uow_factory() as uow:
        for licence in LICENCES:
            await uow.licences.upsert(licence)
        await uow.commit()
    return Desk(uow_factory, clock or ManualClock(OPEN_TIME), make_policy(**policy), StoredLicences(uow_factory))
