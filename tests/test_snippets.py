"""Snippets: `!name` alone in a ticket thread sends the policy's canned answer, placeholders filled."""

from __future__ import annotations

import pytest

from bot.commands import StaffPost
from bot.customers.accounts import link_account
from bot.domain import MessageKind, TicketStatus
from bot.errors import Refusal
from bot.texts import render
from bot.tickets.conversation import staff_post
from bot.tickets.opening import open_ticket
from supportbot.policy_file import PolicyError, _policy_from
from tests.core_helpers import BOB, form, link, make_desk

SNIPPETS = {"cache": "Hello {customer}, flush the cache for {product} ({ticket}); {other} stays.",
            "logs": "Send var/log/system.log please."}


async def desk_with_ticket():  # type: ignore[no-untyped-def]
    desk = make_desk(snippets=SNIPPETS)
    await link_account(desk, link())
    return desk, (await open_ticket(desk, form())).number


async def test_a_snippet_is_sent_as_the_staff_members_answer() -> None:
    desk, n = await desk_with_ticket()
    assert await staff_post(desk, StaffPost(BOB, "e1", "  !Cache ", "ts1", ticket_number=n)) is None
    [message] = desk.uow.state.messages.values()
    assert message.kind is MessageKind.STAFF and message.author_name == "Bob"
    assert message.body == f"Hello Alice, flush the cache for SEO Suite (#{n}); {{other}} stays."
    assert desk.uow.state.tickets[n].status is TicketStatus.AWAITING_CUSTOMER
    rows = [(o.target.value, o.action, o.payload.get("text", {}).get("key")) for o in desk.uow.state.outbox.values()]
    assert ("customer", "post", None) in rows and ("staff", "post", "snippet_sent_note") in rows


async def test_an_unknown_snippet_lists_the_known_ones_and_sends_nothing() -> None:
    desk, n = await desk_with_ticket()
    before = len(desk.uow.state.outbox)
    with pytest.raises(Refusal) as refused:
        await staff_post(desk, StaffPost(BOB, "e1", "!cahce", "ts1", ticket_number=n))
    assert render(refused.value.text) == "There is no snippet !cahce: nothing was sent. Snippets: !cache, !logs."
    assert not desk.uow.state.messages and len(desk.uow.state.outbox) == before


async def test_text_that_merely_starts_with_the_prefix_is_an_ordinary_answer() -> None:
    desk, n = await desk_with_ticket()
    await staff_post(desk, StaffPost(BOB, "e1", "!cache then restart", "ts1", ticket_number=n))
    await staff_post(desk, StaffPost(BOB, "e2", "!", "ts2", ticket_number=n))
    assert [m.body for m in desk.uow.state.messages.values()] == ["!cache then restart", "!"]


def test_the_policy_file_checks_snippets() -> None:
    base = {"calendar": {}, "sla": {}, "limits": {}, "desk": {"snippet_prefix": "%"}}
    policy = _policy_from({**base, "snippet": [{"name": "cache", "text": "Flush it."}]})
    assert policy.snippets == {"cache": "Flush it."} and policy.snippet_prefix == "%"
    with pytest.raises(PolicyError) as bad:
        _policy_from({**base, "snippet": [{"name": "Has Space", "text": "c"}, {"name": "x"}]})
    assert bad.value.problems == [
        "snippet[0].name: 'Has Space' is not a snippet name: lowercase letters, digits, - and _, at most 32",
        "snippet[1].text: missing"]
    with pytest.raises(PolicyError) as twice:
        _policy_from({**base, "snippet": [{"name": "cache", "text": "a"}, {"name": "cache", "text": "b"}]})
    assert twice.value.problems == ["snippet[1].name: 'cache' is already used by another snippet"]


async def test_the_console_sends_a_snippet(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    from supportbot.console_mode import run_console
    from supportbot.settings import load_settings

    examples = Path(__file__).parent.parent / "examples"
    script = tmp_path / "snippet.txt"
    script.write_text("\n".join([
        f"licences import {examples / 'licences.csv'}", "clock 2026-12-07T10:00+01:00",
        "alice: /support link email:alice@example.com key:SEO-1001",
        'alice: /ticket open product:seo-suite subject:"Cache" magento:2.4.6 module:1.3.0 description:"d" '
        'steps:"s" changes:"c"',
        "staff bob: #1 !cache", "staff bob: #1 !nope"]))
    settings = load_settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path}/s.db",
                             supportbot_config=examples / "policy.toml")
    out: list[str] = []
    await run_console(settings, script, out.append, files_dir=tmp_path)
    lines = "\n".join(out).splitlines()
    assert ("→ discord #1 thread: bob (support): Hello alice, please flush the cache (System > Cache Management > "
            "Flush Magento Cache) and try again, then tell us in ticket #1 whether SEO Suite behaves.") in lines
    assert "→ slack ephemeral @bob: There is no snippet !nope: nothing was sent. Snippets: !cache, !logs." in lines


async def test_out_of_scope_closes_use_the_vendors_text_when_the_policy_has_one() -> None:
    from bot.commands import StaffClose
    from bot.domain import CloseReason
    from bot.texts import Text
    from bot.tickets.actions import staff_close

    desk = make_desk(snippets={"close-customisation": "Dear {customer}, {ticket} asks for custom work: see our shop."})
    await link_account(desk, link())
    n = (await open_ticket(desk, form())).number
    await staff_close(desk, StaffClose(BOB, n, CloseReason.CUSTOMISATION))
    posts = [o.payload["text"] for o in desk.uow.state.outbox.values() if o.action == "post" and o.target.value == "customer"]
    assert render(Text.from_dict(posts[-2]), "fr") == f"Dear Alice, #{n} asks for custom work: see our shop."
    n2 = (await open_ticket(desk, form(subject="Another one entirely"))).number
    await staff_close(desk, StaffClose(BOB, n2, CloseReason.MAGENTO_NATIVE))  # no snippet: the built-in text
    posts = [o.payload["text"] for o in desk.uow.state.outbox.values() if o.action == "post" and o.target.value == "customer"]
    assert posts[-2]["key"] == "closed_magento_native"
