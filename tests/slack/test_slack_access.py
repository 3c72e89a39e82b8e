"""View access on the Slack card: the decrypted access goes to the clicking staff member only,
as an ephemeral message; anyone else is refused and sees nothing."""

from __future__ import annotations

import json
from datetime import date

from bot.secrets.access import submit_access
from bot.tickets.actions import request_access
from tests.core_helpers import ALICE, BOB
from tests.slack.fake_slack import eventually
from tests.slack.harness import Harness

PASSWORD = "Sl4ck-view-secret-31"
VIEW = {"action_id": "view_access", "type": "button"}


async def with_access(h: Harness) -> int:
    n = await h.open()
    await request_access(h.desk, BOB, n)
    await submit_access(h.desk, h.cipher, ALICE, n, "https://shop.example.com/admin", "vendor-<support>", PASSWORD,
                        "", date(2026, 12, 10))
    await h.dispatcher.run_once()
    return n


async def test_view_access_is_an_ephemeral_for_that_staff_member_only(h: Harness) -> None:
    n = await with_access(h)
    [card] = h.fake.called("chat.postMessage")[:1]
    assert "view_access" in json.dumps(card["blocks"])
    before = len(h.fake.responses)
    await h.action({**VIEW, "value": str(n)}, answered=False)
    await eventually(lambda: h.fake.called("chat.postEphemeral"))
    [shown] = h.fake.called("chat.postEphemeral")
    assert (shown["channel"], shown["user"]) == ("C0SEO", "U0000BOB")
    assert f"Password: {PASSWORD}" in shown["text"] and "Login: vendor-&lt;support&gt;" in shown["text"]
    assert len(h.fake.responses) == before  # nothing through the response_url
    assert not any(PASSWORD in json.dumps(params) for method, params in h.fake.calls if method != "chat.postEphemeral")
    [viewed] = [e for e in h.store.state.audit if e.action == "access_viewed"]
    assert viewed.actor == "staff:U0000BOB"


async def test_view_access_is_refused_to_non_staff(h: Harness) -> None:
    n = await with_access(h)
    await h.action({**VIEW, "value": str(n)}, user="U0000EVE", answered=False)  # Eve is not staff
    await eventually(lambda: h.fake.called("chat.postEphemeral"))
    [shown] = h.fake.called("chat.postEphemeral")
    assert (shown["user"], shown["text"]) == ("U0000EVE", "Only support staff can do this.")
    assert not [e for e in h.store.state.audit if e.action == "access_viewed"]


async def test_view_access_before_any_access_says_so(h: Harness) -> None:
    n = await h.open()
    await h.action({**VIEW, "value": str(n)}, answered=False)
    await eventually(lambda: h.fake.called("chat.postEphemeral"))
    [shown] = h.fake.called("chat.postEphemeral")
    assert shown["text"].startswith(f"There is no temporary access for ticket #{n}")
