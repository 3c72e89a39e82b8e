"""Issue 12 item 1: a staff member acts on the tickets of their own products (staff_scope "product",
the default) or of the whole desk ("desk"); temporary access is for the product's staff only,
whatever the scope, and every view or refused attempt is in the audit log."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from adapters.crypto import FernetCipher
from bot.commands import Claim, Staff, StaffClose, StaffPost
from bot.customers.accounts import link_account
from bot.desk import Desk
from bot.domain import CloseReason, MessageKind, Ticket
from bot.errors import Refusal
from bot.ports import UnitOfWorkFactory
from bot.secrets.access import submit_access, view_access
from bot.tickets.actions import claim, request_access, staff_close
from bot.tickets.conversation import staff_post
from bot.tickets.opening import open_ticket
from bot.tickets.queries import staff_open_tickets, staff_stats, staff_ticket
from supportbot.policy_file import PolicyError, load_policy
from tests.core_helpers import ALICE, BOB, form, link, make_desk, make_sql_desk

CAT = Staff("s-cat", "Cat", frozenset({"support-checkout"}))  # staff of the checkout product only
SEO = Staff("s-sam", "Sam", frozenset({"support-seo"}))
cipher = FernetCipher.ephemeral()


async def seo_ticket(**policy: object) -> tuple[Desk, int]:
    desk = make_desk(**policy)
    await link_account(desk, link())
    return desk, (await open_ticket(desk, form())).number


def refused(exc: pytest.ExceptionInfo[Refusal]) -> str:
    return exc.value.text.key


def test_the_scope_is_per_product_unless_the_policy_says_desk(tmp_path: Path) -> None:
    assert make_desk().policy.staff_scope == "product"
    path = tmp_path / "p.toml"
    path.write_text('[desk]\nstaff_scope = "desk"\n', encoding="utf-8")
    assert load_policy(path).staff_scope == "desk"
    path.write_text('[desk]\nstaff_scope = "everyone"\n', encoding="utf-8")
    with pytest.raises(PolicyError, match="staff_scope"):
        load_policy(path)
    path.write_text("[desk]\n", encoding="utf-8")
    assert load_policy(path).staff_scope == "product"


async def test_staff_of_another_product_can_do_nothing_on_a_ticket() -> None:
    desk, n = await seo_ticket()
    attempts = [
        lambda: staff_post(desk, StaffPost(CAT, "e1", "Try this", "m1", ticket_number=n)),
        lambda: staff_post(desk, StaffPost(CAT, "e2", "note: internal", "m2", ticket_number=n)),
        lambda: claim(desk, Claim(CAT, n)),
        lambda: staff_close(desk, StaffClose(CAT, n, CloseReason.RESOLVED)),
        lambda: request_access(desk, CAT, n),
        lambda: staff_ticket(desk, CAT, n),
    ]
    for attempt in attempts:
        with pytest.raises(Refusal) as exc:
            await attempt()
        assert refused(exc) == "staff_out_of_scope"
    ticket: Ticket = desk.uow.state.tickets[n]  # type: ignore[attr-defined]
    assert ticket.is_open and ticket.assignee is None and not desk.uow.state.messages  # type: ignore[attr-defined]
    assert "alice@example.com" in await staff_ticket(desk, SEO, n)  # the product's own staff see the card


async def test_lists_and_statistics_follow_the_scope() -> None:
    desk, n = await seo_ticket()
    assert f"#{n} " in await staff_open_tickets(desk, SEO)
    assert await staff_open_tickets(desk, CAT) == "No open tickets."
    assert (await staff_stats(desk, SEO)).startswith("Last 30 days: 1 opened")
    assert (await staff_stats(desk, CAT)).startswith("Last 30 days: 0 opened")
    assert f"#{n} " in await staff_open_tickets(desk, BOB)  # a member of several channels sees them all


async def test_a_shared_desk_lets_any_staff_act() -> None:
    desk, n = await seo_ticket(staff_scope="desk")
    await claim(desk, Claim(CAT, n))
    assert f"#{n} " in await staff_open_tickets(desk, CAT)
    assert (await staff_stats(desk, CAT)).startswith("Last 30 days: 1 opened")
    await staff_post(desk, StaffPost(CAT, "e1", "Try this", "m1", ticket_number=n))
    [answer] = desk.uow.state.messages.values()  # type: ignore[attr-defined]
    assert answer.kind is MessageKind.STAFF


@pytest.mark.parametrize("scope", ["product", "desk"])
async def test_temporary_access_is_read_by_the_products_staff_only_and_audited(scope: str) -> None:
    desk, n = await seo_ticket(staff_scope=scope)
    await request_access(desk, SEO, n)
    await submit_access(desk, cipher, ALICE, n, "https://shop.example.com/admin", "vendor", "Pa55-w0rd-9f3k",
                        "", date(2026, 12, 10))
    with pytest.raises(Refusal) as exc:
        await view_access(desk, cipher, CAT, n)
    assert refused(exc) == "access_view_refused"
    assert "Pa55-w0rd-9f3k" in await view_access(desk, cipher, SEO, n)
    audit = [(e.actor, e.action) for e in desk.uow.state.audit if e.action.startswith("access_view")]  # type: ignore[attr-defined]
    assert audit == [("staff:s-cat", "access_view_refused"), ("staff:s-sam", "access_viewed")]


async def test_the_scope_filter_runs_in_sql(uow_factory: UnitOfWorkFactory) -> None:
    """list_open / opened_between / closed_between take the staff member's channels (both databases)."""
    desk = await make_sql_desk(uow_factory)
    await link_account(desk, link())
    n = (await open_ticket(desk, form())).number
    await staff_close(desk, StaffClose(SEO, n, CloseReason.RESOLVED))
    m = (await open_ticket(desk, form(subject="Robots.txt ignored"))).number
    assert f"#{m} " in await staff_open_tickets(desk, SEO)
    assert await staff_open_tickets(desk, CAT) == "No open tickets."
    assert (await staff_stats(desk, SEO)).startswith("Last 30 days: 2 opened, 1 closed.")
    assert (await staff_stats(desk, CAT)).startswith("Last 30 days: 0 opened, 0 closed.")
