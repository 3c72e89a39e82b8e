"""The sweep on the in-memory desk: one ticket's timeline, each reminder once, at its
working-hour instant, across a weekend, a holiday and a daylight-saving change.
Only the injected ManualClock moves time."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.commands import Claim, CustomerPost, StaffPost
from bot.customers.accounts import link_account
from bot.desk import Desk
from bot.domain import CloseReason, Licence, OutboxItem, Ticket, TicketStatus
from bot.texts import Text, render
from bot.tickets.actions import claim
from bot.tickets.conversation import customer_post, staff_post
from bot.tickets.opening import open_ticket
from bot.time.calendar import BusinessCalendar
from bot.time.timers import sweep
from tests.core_helpers import ALICE, BOB, form, link, make_desk

HOURS = [(time(9), time(12)), (time(14), time(18))]
PLUS_ONE = timezone(timedelta(hours=1))
PARIS = ZoneInfo("Europe/Paris")
LEADS = ("U-LEAD1", "U-LEAD2")


def calendar(tz: timezone | ZoneInfo = PLUS_ONE, holidays: tuple[date, ...] = ()) -> BusinessCalendar:
    return BusinessCalendar(tz, {weekday: HOURS for weekday in range(5)}, holidays)


def desk_with(cal: BusinessCalendar, **policy: Any) -> Desk:
    # make_desk(calendar=...) collides with make_policy's own calendar=: replace it afterwards
    desk = make_desk()
    return dataclasses.replace(desk, policy=dataclasses.replace(desk.policy, calendar=cal, **policy))


async def open_at(desk: Desk, at: datetime) -> int:
    desk.clock.set(at)  # type: ignore[attr-defined]
    await link_account(desk, link())
    return (await open_ticket(desk, form())).number


def ticket(desk: Desk, number: int) -> Ticket:
    return desk.uow.state.tickets[number]  # type: ignore[attr-defined]


def sent(desk: Desk, key: str) -> list[OutboxItem]:
    return [o for o in desk.uow.state.outbox.values()  # type: ignore[attr-defined]
            if (o.payload.get("text") or {}).get("key") == key]


def rendered(item: OutboxItem) -> str:
    return render(Text.from_dict(item.payload["text"]))


async def sweep_at(desk: Desk, at: datetime, times: int = 1) -> None:
    desk.clock.set(at)  # type: ignore[attr-defined]
    for _ in range(times):
        await sweep(desk)


async def fires_once_at(desk: Desk, key: str, at: datetime) -> OutboxItem:
    """Nothing a minute before `at`; exactly one message at `at`; still one a little later."""
    before = len(sent(desk, key))
    await sweep_at(desk, at - timedelta(minutes=1), times=2)
    assert len(sent(desk, key)) == before, f"{key} fired before {at}"
    await sweep_at(desk, at, times=2)
    await sweep_at(desk, at + timedelta(minutes=1), times=2)
    items = sent(desk, key)
    assert len(items) == before + 1, f"{key} fired {len(items) - before} times"
    assert items[-1].created_at == at
    return items[-1]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# (calendar, opened at, warning at, deadline, deadline as the messages show it)
TIMELINES = {
    # Friday 16:30 GMT+1: 1h30 on Friday, the weekend is closed, 2h30 on Monday morning
    "weekend": (calendar(), utc(2026, 12, 4, 15, 30), utc(2026, 12, 7, 9, 30), utc(2026, 12, 7, 10, 30),
                "Mon 7 Dec 2026 11:30 (UTC+01:00)"),
    # Thursday 24 December 16:00: 2h on Thursday, Christmas Friday and the weekend closed
    "holiday": (calendar(holidays=(date(2026, 12, 25),)), utc(2026, 12, 24, 15, 0), utc(2026, 12, 28, 9, 0),
                utc(2026, 12, 28, 10, 0), "Mon 28 Dec 2026 11:00 (UTC+01:00)"),
    # Friday 27 March 2026 16:30 CET; clocks go forward on Sunday 29: Monday is CEST (UTC+2)
    "daylight-saving": (calendar(PARIS), utc(2026, 3, 27, 15, 30), utc(2026, 3, 30, 8, 30),
                        utc(2026, 3, 30, 9, 30), "Mon 30 Mar 2026 11:30 (Europe/Paris)"),
}


@pytest.mark.parametrize("name", TIMELINES)
async def test_one_ticket_from_warning_to_autoclose(name: str) -> None:
    cal, opened, warn_at, due_at, due_text = TIMELINES[name]
    desk = desk_with(cal, leads=LEADS)
    n = await open_at(desk, opened)
    assert (ticket(desk, n).sla_warn_at, ticket(desk, n).sla_due_at) == (warn_at, due_at)

    warning = await fires_once_at(desk, "sla_warning", warn_at)
    assert warning.payload["mention"] == "channel:support-seo"  # nobody claimed it
    assert due_text in rendered(warning)
    assert not sent(desk, "sla_breach")

    cards_before = sum(o.action == "card_update" for o in desk.uow.state.outbox.values())  # type: ignore[attr-defined]
    breach = await fires_once_at(desk, "sla_breach", due_at)
    assert breach.payload["mention"] == "U-LEAD1 U-LEAD2"
    assert due_text in rendered(breach)
    cards = [o for o in desk.uow.state.outbox.values() if o.action == "card_update"]  # type: ignore[attr-defined]
    assert len(cards) == cards_before + 1 and cards[-1].created_at == due_at
    assert ticket(desk, n).overdue_since == due_at

    answered = due_at + timedelta(hours=2)
    desk.clock.set(answered)  # type: ignore[attr-defined]
    await staff_post(desk, StaffPost(BOB, "ev-answer", "Please regenerate the sitemap.", "ts1", ticket_number=n))
    assert ticket(desk, n).overdue_since is None and ticket(desk, n).status is TicketStatus.AWAITING_CUSTOMER

    nudge = await fires_once_at(desk, "nudge", answered + timedelta(days=7))
    assert nudge.payload["close_button"] is True
    closes_at = answered + timedelta(days=28)
    warning = await fires_once_at(desk, "autoclose_warning", closes_at - timedelta(days=3))
    assert cal.format_local(closes_at) in rendered(warning)
    assert ticket(desk, n).is_open

    await fires_once_at(desk, "closed_inactivity", closes_at)
    t = ticket(desk, n)
    assert t.status is TicketStatus.CLOSED and t.close_reason is CloseReason.INACTIVITY and t.closed_at == closes_at
    assert len(sent(desk, "autoclosed_note")) == 1
    assert [o.action for o in desk.uow.state.outbox.values()].count("lock") == 1  # type: ignore[attr-defined]
    # nothing more, ever: every deadline is disarmed and every reminder fired once
    await sweep_at(desk, closes_at + timedelta(days=400), times=2)
    for key in ("sla_warning", "sla_breach", "nudge", "autoclose_warning", "closed_inactivity"):
        assert len(sent(desk, key)) == 1, key


async def test_a_claimed_ticket_warns_its_assignee() -> None:
    desk = desk_with(calendar(), leads=LEADS)
    _, opened, warn_at, _, _ = TIMELINES["weekend"]
    n = await open_at(desk, opened)
    await claim(desk, Claim(BOB, n))
    warning = await fires_once_at(desk, "sla_warning", warn_at)
    assert warning.payload["mention"] == "s-bob"


async def test_breach_without_leads_mentions_the_channel() -> None:
    desk = desk_with(calendar())
    _, opened, _, due_at, _ = TIMELINES["weekend"]
    await open_at(desk, opened)
    breach = await fires_once_at(desk, "sla_breach", due_at)
    assert breach.payload["mention"] == "channel:support-seo"


async def test_after_downtime_warning_and_breach_fire_at_once_and_once_each() -> None:
    desk = desk_with(calendar(), leads=LEADS)
    _, opened, _, due_at, _ = TIMELINES["weekend"]
    n = await open_at(desk, opened)
    await sweep_at(desk, due_at + timedelta(days=2), times=3)
    assert len(sent(desk, "sla_warning")) == len(sent(desk, "sla_breach")) == 1
    assert ticket(desk, n).overdue_since == due_at


async def test_a_customer_reply_cancels_the_autoclose() -> None:
    desk = desk_with(calendar())
    n = await open_at(desk, utc(2026, 12, 3, 9, 0))
    answered = utc(2026, 12, 3, 10, 0)
    desk.clock.set(answered)  # type: ignore[attr-defined]
    await staff_post(desk, StaffPost(BOB, "ev-answer", "Try this.", "ts1", ticket_number=n))
    await fires_once_at(desk, "nudge", answered + timedelta(days=7))
    desk.clock.set(answered + timedelta(days=10))  # type: ignore[attr-defined]
    await customer_post(desk, CustomerPost(ALICE, "m-late", "Still broken, sorry for the delay."))
    assert ticket(desk, n).status is TicketStatus.AWAITING_STAFF and ticket(desk, n).autoclose_at is None
    await sweep_at(desk, answered + timedelta(days=60), times=2)
    assert not sent(desk, "autoclose_warning") and not sent(desk, "closed_inactivity")
    assert ticket(desk, n).is_open
    assert len(sent(desk, "sla_breach")) == 1  # the new waiting period has its own promise


async def test_a_reply_after_the_autoclose_warning_still_cancels_the_close() -> None:
    desk = desk_with(calendar())
    n = await open_at(desk, utc(2026, 12, 3, 9, 0))
    answered = utc(2026, 12, 3, 10, 0)
    desk.clock.set(answered)  # type: ignore[attr-defined]
    await staff_post(desk, StaffPost(BOB, "ev-answer", "Try this.", "ts1", ticket_number=n))
    await fires_once_at(desk, "autoclose_warning", answered + timedelta(days=25))
    desk.clock.set(answered + timedelta(days=27))  # type: ignore[attr-defined]
    await customer_post(desk, CustomerPost(ALICE, "m-late", "Please keep it open."))
    await sweep_at(desk, answered + timedelta(days=29), times=2)
    assert not sent(desk, "closed_inactivity") and ticket(desk, n).is_open


async def test_out_of_hours_reply_once_per_closed_period() -> None:
    desk = desk_with(calendar())
    n = await open_at(desk, utc(2026, 12, 4, 17, 30))  # Friday 18:30 GMT+1: closed
    assert len(sent(desk, "out_of_hours")) == 1
    assert "Mon 7 Dec 2026 09:00" in rendered(sent(desk, "out_of_hours")[0])
    for i, at in enumerate([utc(2026, 12, 5, 10, 0), utc(2026, 12, 6, 22, 0)]):  # the weekend: same closed period
        desk.clock.set(at)  # type: ignore[attr-defined]
        await customer_post(desk, CustomerPost(ALICE, f"w{i}", "Any news?", ticket_number=n))
    assert len(sent(desk, "out_of_hours")) == 1
    desk.clock.set(utc(2026, 12, 7, 9, 30))  # type: ignore[attr-defined]  # open: no reply
    await customer_post(desk, CustomerPost(ALICE, "open", "Hello?", ticket_number=n))
    assert len(sent(desk, "out_of_hours")) == 1
    desk.clock.set(utc(2026, 12, 7, 11, 30))  # type: ignore[attr-defined]  # Monday lunch break: a new closed period
    await customer_post(desk, CustomerPost(ALICE, "lunch1", "Hello again?", ticket_number=n))
    await customer_post(desk, CustomerPost(ALICE, "lunch2", "And again?", ticket_number=n))
    replies = sent(desk, "out_of_hours")
    assert len(replies) == 2 and "Mon 7 Dec 2026 14:00" in rendered(replies[-1])


def expire_alice_seo(desk: Desk, at: datetime) -> None:
    desk.uow.state.licences["SEO-ALICE"] = Licence("SEO-ALICE", "alice@example.com", "seo-suite", at)  # type: ignore[attr-defined]


EXPIRES = utc(2026, 12, 10)  # valid through 9 December


async def test_licence_expiry_closes_the_ticket_naming_the_date() -> None:
    desk = desk_with(calendar(), renew_url="https://shop.example.com/renew")
    expire_alice_seo(desk, EXPIRES)
    n = await open_at(desk, utc(2026, 12, 3, 9, 0))
    await sweep_at(desk, EXPIRES - timedelta(seconds=1), times=2)
    assert ticket(desk, n).is_open
    await sweep_at(desk, EXPIRES, times=3)
    t = ticket(desk, n)
    assert t.status is TicketStatus.CLOSED and t.close_reason is CloseReason.LICENCE_EXPIRED
    (closed,) = sent(desk, "closed_licence_expired")
    assert "expired on 2026-12-09" in rendered(closed) and "https://shop.example.com/renew" in rendered(closed)
    (note,) = sent(desk, "licence_expired_note")
    assert note.payload["mention"] == "channel:support-seo" and "2026-12-09" in rendered(note)
    await sweep_at(desk, EXPIRES + timedelta(days=3), times=2)
    assert len(sent(desk, "licence_expired_note")) == 1


async def test_licence_expiry_only_warns_staff_when_the_policy_says_warn() -> None:
    desk = desk_with(calendar(), on_licence_expiry="warn")
    expire_alice_seo(desk, EXPIRES)
    n = await open_at(desk, utc(2026, 12, 3, 9, 0))
    for day in range(3):
        await sweep_at(desk, EXPIRES + timedelta(days=day), times=2)
    assert len(sent(desk, "licence_expired_note")) == 1
    assert not sent(desk, "closed_licence_expired") and ticket(desk, n).is_open


async def test_a_renewed_licence_keeps_the_ticket_open() -> None:
    desk = desk_with(calendar())
    expire_alice_seo(desk, EXPIRES)
    n = await open_at(desk, utc(2026, 12, 3, 9, 0))
    renewed = Licence("SEO-ALICE-2027", "alice@example.com", "seo-suite", utc(2027, 12, 10))
    desk.uow.state.licences[renewed.key] = renewed  # type: ignore[attr-defined]
    await sweep_at(desk, EXPIRES + timedelta(hours=1), times=2)
    t = ticket(desk, n)
    assert t.is_open and t.licence_expires_at == renewed.expires_at
    assert not sent(desk, "licence_expired_note")
    await sweep_at(desk, renewed.expires_at, times=1)  # the renewed licence runs out in turn
    assert ticket(desk, n).close_reason is CloseReason.LICENCE_EXPIRED


# --- licence checks are deadlines of their own: warned tickets never crowd out later ones ----------


async def test_warn_only_expiries_do_not_starve_later_ones() -> None:
    desk = desk_with(calendar(), on_licence_expiry="warn")
    expire_alice_seo(desk, EXPIRES)
    first = ticket(desk, await open_at(desk, utc(2026, 12, 3, 9, 0)))
    state = desk.uow.state  # type: ignore[attr-defined]
    for _ in range(100):  # 100 more tickets behind licences that expire with the first
        number = state.new_id()
        state.tickets[number] = dataclasses.replace(first, id=number)
    await sweep_at(desk, EXPIRES, times=2)
    assert len(sent(desk, "licence_expired_note")) == 101
    state = desk.uow.state  # type: ignore[attr-defined]  # a commit swaps the fake store's state
    late = state.new_id()
    state.tickets[late] = dataclasses.replace(first, id=late, licence_expires_at=EXPIRES + timedelta(days=1),
                                             licence_check_at=EXPIRES + timedelta(days=1))
    await sweep_at(desk, EXPIRES + timedelta(days=2), times=2)
    assert [o.ticket_id for o in sent(desk, "licence_expired_note")].count(late) == 1


async def test_warn_only_a_renewed_licence_that_expires_again_is_told_again() -> None:
    desk = desk_with(calendar(), on_licence_expiry="warn")
    expire_alice_seo(desk, EXPIRES)
    await open_at(desk, utc(2026, 12, 3, 9, 0))
    await sweep_at(desk, EXPIRES)
    renewed = Licence("SEO-ALICE-2027", "alice@example.com", "seo-suite", utc(2027, 12, 10))
    desk.uow.state.licences[renewed.key] = renewed  # type: ignore[attr-defined]
    await sweep_at(desk, EXPIRES + timedelta(days=1))
    await sweep_at(desk, renewed.expires_at)
    assert len(sent(desk, "licence_expired_note")) == 2
