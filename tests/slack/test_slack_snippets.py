"""Snippets from a Slack thread: `!cache` goes to the customer expanded; an unknown one is listed ephemerally."""

from __future__ import annotations

import dataclasses

from tests.slack.fake_slack import eventually
from tests.slack.harness import Harness


def with_snippets(h: Harness) -> None:
    policy = dataclasses.replace(h.desk.policy, snippets={"cache": "Hi {customer}, flush the cache ({ticket})."})
    object.__setattr__(h.desk, "policy", policy)  # the app and port hold this desk


async def test_a_snippet_reaches_the_customer_and_an_unknown_one_is_listed(h: Harness):
    with_snippets(h)
    n = await h.open()
    await h.reply("!nope", ts="1700000500.000001", event_id="Ev1")
    await eventually(lambda: h.fake.called("chat.postEphemeral"))
    [ephemeral] = h.fake.called("chat.postEphemeral")
    assert ephemeral["user"] == "U0000BOB" and ephemeral["thread_ts"] == h.thread(n)[1]
    assert ephemeral["text"] == "There is no snippet !nope: nothing was sent. Snippets: !cache."
    assert not h.messages()
    await h.reply("!cache", ts="1700000500.000002", event_id="Ev2")
    await eventually(lambda: h.messages())
    await h.dispatcher.run_once()
    [answer] = [d for d in h.customer.delivered if d.message is not None]
    assert answer.message is not None and answer.message.body == f"Hi Alice, flush the cache (#{n})."
    assert h.fake.called("chat.postMessage")[-1]["text"] == f"Bob sent the snippet cache:\nHi Alice, flush the cache (#{n})."
