"""Transcripts: content of both forms, the customer's copy, escaping, and the outbox rows on close."""

from __future__ import annotations

import html
import re

from adapters.render.transcript import JinjaTranscriptRenderer, md_escape
from bot.commands import CustomerClose, CustomerPost, Edit, StaffClose, StaffPost
from bot.customers.accounts import link_account
from bot.desk import Desk
from bot.domain import Attachment, CloseReason
from bot.reporting.transcripts import load_transcript
from bot.tickets.actions import customer_close, staff_close
from bot.tickets.conversation import customer_post, edit_message, staff_post
from bot.tickets.opening import open_ticket
from tests.core_helpers import ALICE, BOB, form, link, make_desk

HOSTILE = "<script>alert('x')</script> <!channel> <@U0000BOB> @everyone **bold** [link](javascript:alert(1))"
render = JinjaTranscriptRenderer().render


async def busy_ticket() -> tuple[Desk, int]:
    """A ticket with a note, a redacted password, attachments, an edit, a deletion and hostile text."""
    desk = make_desk()
    await link_account(desk, link())
    n = (await open_ticket(desk, form(subject="Sitemap <b>empty</b>"))).number
    shot = Attachment("screen shot.png", "https://cdn.example/x.png", "image/png", 2048)
    await customer_post(desk, CustomerPost(ALICE, "c1", "Here is a screenshot", ticket_number=n, attachments=(shot,)))
    await customer_post(desk, CustomerPost(ALICE, "c2", "admin login: admin password: Hunter2!Secret", ticket_number=n))
    await staff_post(desk, StaffPost(BOB, "s1", "note: looks like SEO-88", "ts-note", ticket_number=n))
    await staff_post(desk, StaffPost(BOB, "s2", "Please disable the flat catalog.", "ts-answer", ticket_number=n))
    await edit_message(desk, Edit("staff", "e1", "ts-answer", "Please disable the flat catalog, then regenerate."))
    await customer_post(desk, CustomerPost(ALICE, "c3", "Oops, wrong ticket", ticket_number=n))
    oops = next(m for m in desk.uow.state.messages.values() if m.body == "Oops, wrong ticket")  # type: ignore[attr-defined]
    assert oops.customer_ref
    await edit_message(desk, Edit("customer", "e2", oops.customer_ref, None))
    await customer_post(desk, CustomerPost(ALICE, "c4", HOSTILE, ticket_number=n))
    await staff_close(desk, StaffClose(BOB, n, CloseReason.RESOLVED))
    return desk, n


async def test_staff_html_has_everything_marked_and_nothing_secret() -> None:
    desk, n = await busy_ticket()
    page = render(await load_transcript(desk, n, "staff"), "html")
    assert page.startswith("<!DOCTYPE html>") and "</html>" in page
    assert not re.search(r"""(src|href)=["']?https?:""", page)  # self-contained: no external assets
    text = html.unescape(page)
    for expected in (f"Ticket #{n}: Sitemap <b>empty</b>", "Here is a screenshot", "Attachment: screen shot.png (2.0 KB)",
                     "looks like SEO-88", "internal note", "Please disable the flat catalog, then regenerate.",
                     "edited Thu 3 Dec 2026 10:00 (UTC+01:00)", "Oops, wrong ticket", "deleted", "[redacted:",
                     "Magento version", "2.4.6", "Upgraded to 1.3.0 yesterday.", "resolved", "by staff:s-bob",
                     "Times are in UTC+01:00"):
        assert expected in text, expected
    assert "Hunter2!Secret" not in page
    assert "Please disable the flat catalog.<" not in text  # the edited text replaces the original


async def test_hostile_text_is_escaped_in_html() -> None:
    desk, n = await busy_ticket()
    page = render(await load_transcript(desk, n, "customer"), "html")
    assert "<script>" not in page and "<b>empty</b>" not in page and "<!channel>" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &lt;!channel&gt; &lt;@U0000BOB&gt;" in page
    assert page.count("<script") == 0 and "javascript:alert(1)" in page  # shown as text, never a link
    assert 'href="javascript' not in page


async def test_customer_copy_leaves_out_notes_and_deleted_text() -> None:
    desk, n = await busy_ticket()
    transcript = await load_transcript(desk, n, "customer")
    for fmt in ("html", "md"):
        page = html.unescape(render(transcript, fmt))  # type: ignore[arg-type]
        assert "SEO-88" not in page and "internal note" not in page.lower()
        assert "Oops, wrong ticket" not in page and "This message was deleted." in page
        assert "staff:s-bob" not in page and "Please disable the flat catalog, then regenerate." in page
        assert "Hunter2!Secret" not in page


async def test_markdown_form_escapes_markup_and_html() -> None:
    desk, n = await busy_ticket()
    md = render(await load_transcript(desk, n, "staff"), "md")
    assert md.startswith(f"# Ticket #{n}: Sitemap &lt;b&gt;empty&lt;/b&gt;")
    assert "INTERNAL NOTE" in md and "> looks like SEO-88" in md
    assert "<script>" not in md and "\\*\\*bold\\*\\*" in md and "\\[link\\](javascript:alert(1))" in md
    assert "[edited Thu 3 Dec 2026 10:00 (UTC+01:00)]" in md and "[deleted]" in md
    assert "\n\n- Attachment: screen shot.png (2.0 KB)" in md
    assert "Hunter2!Secret" not in md
    assert md_escape("a<b") == "a&lt;b"


async def test_every_close_queues_both_transcripts_before_the_lock() -> None:
    desk, n = await busy_ticket()
    rows = [(o.target.value, o.action, o.payload) for o in desk.uow.state.outbox.values()  # type: ignore[attr-defined]
            if o.ticket_id == n]
    customer = [(a, p) for t, a, p in rows if t == "customer"]
    actions = [a for a, _ in customer]
    assert actions.index("transcript") < actions.index("lock")
    assert ("transcript", {"format": "html", "audience": "customer"}) in customer
    assert ("staff", "transcript", {"format": "html", "audience": "staff"}) in rows
    # the customer's own close too
    desk2 = make_desk()
    await link_account(desk2, link())
    m = (await open_ticket(desk2, form())).number
    await customer_close(desk2, CustomerClose(ALICE, m))
    actions2 = [(o.target.value, o.action) for o in desk2.uow.state.outbox.values()]  # type: ignore[attr-defined]
    assert ("customer", "transcript") in actions2 and ("staff", "transcript") in actions2


async def test_inactivity_and_licence_expiry_closes_queue_transcripts_too() -> None:
    from datetime import timedelta

    from bot.time.timers import sweep

    desk = make_desk()
    await link_account(desk, link())
    n = (await open_ticket(desk, form())).number
    await staff_post(desk, StaffPost(BOB, "s1", "Try this.", "ts1", ticket_number=n))
    desk.clock.advance(days=29)  # 4 weeks without a reply: closed by inactivity
    await sweep(desk)
    m = (await open_ticket(desk, form(subject="Robots.txt ignored"))).number
    state = desk.uow.state  # type: ignore[attr-defined]
    ticket = state.tickets[m]
    ticket.licence_check_at = desk.clock.now()  # its licence is found expired at the next sweep
    for key in list(state.licences):
        state.licences[key] = type(state.licences[key])(key, state.licences[key].email, state.licences[key].product,
                                                        desk.clock.now() - timedelta(days=1))
    await sweep(desk)
    state = desk.uow.state  # type: ignore[attr-defined]  # each commit swaps the fake's state
    for number, reason in ((n, CloseReason.INACTIVITY), (m, CloseReason.LICENCE_EXPIRED)):
        assert state.tickets[number].close_reason is reason
        rows = {(o.target.value, o.action) for o in state.outbox.values() if o.ticket_id == number}
        assert {("customer", "transcript"), ("staff", "transcript")} <= rows
