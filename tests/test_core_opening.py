"""Linking and opening tickets, against in-memory fakes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.commands import Customer
from bot.customers.accounts import link_account
from bot.errors import Refusal
from bot.texts import render
from bot.tickets.opening import open_ticket, suggest_manual
from tests.core_helpers import OPEN_TIME, form, link, make_desk


async def refused(coro) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(Refusal) as info:
        await coro
    return render(info.value.text)


async def test_link_lists_products_and_expiry():
    desk = make_desk()
    text = render(await link_account(desk, link()))
    assert "alice@example.com" in text
    assert "SEO Suite (seo-suite): valid until 2027-05-31" in text
    assert "One Step Checkout (one-step-checkout): expired on 2026-10-31" in text


async def test_link_with_wrong_key_or_email_is_refused_then_throttled():
    desk = make_desk()
    assert "does not match" in await refused(link_account(desk, link(key="NOPE")))
    assert "does not match" in await refused(link_account(desk, link(key="SEO-CAROL")))  # carol's key
    for _ in range(3):
        await refused(link_account(desk, link(key="NOPE")))
    text = await refused(link_account(desk, link()))  # even the right key waits now
    assert "Too many wrong attempts" in text and "11:00" in text  # first failure at 10:00 local, + 1h
    desk.clock.advance(hours=1, minutes=1)  # type: ignore[attr-defined]
    assert "linked" in render(await link_account(desk, link()))


async def test_open_requires_a_link():
    desk = make_desk()
    assert "/support link" in await refused(open_ticket(desk, form()))


async def test_open_refuses_expired_licence_with_its_date_and_unknown_product_listing_owned():
    desk = make_desk()
    await link_account(desk, link())
    text = await refused(open_ticket(desk, form(product="one-step-checkout")))
    assert "expired on 2026-10-31" in text
    text = await refused(open_ticket(desk, form(product="blog-pro")))
    assert "'blog-pro'" in text and "SEO Suite" in text


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("subject", "  ", "subject is required"),
        ("magento_version", "2.4", "not a Magento version"),
        ("magento_version", "1.9.4", "not a Magento version"),
        ("module_version", "latest", "not a module version"),
        ("description", "x" * 4001, "too long"),
        ("changes", "", "recent changes is required"),
    ],
)
async def test_open_validates_the_form(field, value, expected):
    desk = make_desk()
    await link_account(desk, link())
    assert expected in await refused(open_ticket(desk, form(**{field: value})))
    assert desk.uow.state.tickets == {}  # type: ignore[attr-defined]


async def test_open_accepts_patch_versions_and_computes_the_deadline_in_working_hours():
    desk = make_desk()
    await link_account(desk, link())
    opened = await open_ticket(desk, form(magento_version="2.4.6-p3", module_version="v1.3.0-beta.1"))
    ticket = desk.uow.state.tickets[opened.number]  # type: ignore[attr-defined]
    # Thursday 10:00 +01:00 + 4 working hours (lunch 12-14) = 16:00 +01:00
    assert ticket.sla_due_at == datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
    assert ticket.magento_version == "2.4.6-p3" and ticket.module_version == "1.3.0-beta.1"
    text = render(opened.reply)
    assert f"#{opened.number}" in text and "16:00" in text


async def test_same_subject_points_to_the_first_ticket_and_the_cap_holds():
    desk = make_desk(open_tickets_per_customer=2)
    await link_account(desk, link())
    first = await open_ticket(desk, form())
    text = await refused(open_ticket(desk, form(subject="sitemap is EMPTY!")))
    assert f"#{first.number}" in text
    await open_ticket(desk, form(subject="Canonical URLs are wrong on category pages"))
    assert "2 open tickets" in await refused(open_ticket(desk, form(subject="Robots.txt editor crashes")))


async def test_open_outside_hours_names_the_next_opening():
    # Friday 4 December 2026 19:00 +01:00: closed until Monday 09:00
    desk = make_desk()
    desk.clock._now = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)  # type: ignore[attr-defined]
    await link_account(desk, link())
    opened = await open_ticket(desk, form())
    text = render(opened.reply)
    assert "closed now" in text and "Mon 7 Dec" in text
    ticket = desk.uow.state.tickets[opened.number]  # type: ignore[attr-defined]
    assert ticket.sla_due_at == datetime(2026, 12, 7, 14, 0, tzinfo=UTC)  # Monday 09-12 then 14-15 +01:00
    actions = [(o.target.value, o.action) for o in desk.uow.state.outbox.values()]  # type: ignore[attr-defined]
    assert actions == [("staff", "card"), ("customer", "open_thread"), ("customer", "post")]


async def test_manual_suggestions_match_keywords_and_titles():
    desk = make_desk()
    assert [p.title for p in suggest_manual(desk, "seo-suite", "My XML sitemap is empty")] == ["Sitemap settings"]
    assert suggest_manual(desk, "seo-suite", "Checkout button is grey") == []
    assert suggest_manual(desk, "unknown", "sitemap") == []


async def test_a_failed_open_leaves_nothing():
    desk = make_desk(open_tickets_per_customer=1)
    await link_account(desk, link())
    await open_ticket(desk, form())
    before = (len(desk.uow.state.tickets), len(desk.uow.state.outbox))  # type: ignore[attr-defined]
    await refused(open_ticket(desk, form(subject="Another question entirely")))
    assert (len(desk.uow.state.tickets), len(desk.uow.state.outbox)) == before  # type: ignore[attr-defined]


async def test_another_customer_cannot_use_alices_key():
    desk = make_desk()
    mallory = Customer("discord", "u-mallory", "Mallory")
    assert "does not match" in await refused(link_account(desk, link(mallory, "mallory@example.com")))
    assert OPEN_TIME + timedelta(0) == desk.clock.now()
