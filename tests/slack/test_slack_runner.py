"""Starting the Slack side inside the running loop: HTTP mode on a real port, Socket Mode end to end."""

from __future__ import annotations

import json

import aiohttp

from adapters.slack.runner import EVENTS_PATH, start_slack
from bot.domain import MessageKind
from tests.slack.fake_slack import APP_TOKEN, eventually
from tests.slack.harness import Harness, event_body, sign


def reply_event(h: Harness, text: str, ts: str = "1700000500.000001") -> dict:
    channel, thread_ts = h.thread()
    return {"type": "message", "user": "U0000BOB", "text": text, "ts": ts, "thread_ts": thread_ts,
            "channel": channel, "channel_type": "channel"}


async def test_http_mode_serves_signed_events_and_rejects_bad_signatures(h: Harness):
    await h.open()
    connection = await start_slack(h.app, http_port=0, host="127.0.0.1")
    try:
        url = f"http://127.0.0.1:{connection.port}{EVENTS_PATH}"
        body = event_body(reply_event(h, "Over HTTP"), "EvHttp")
        async with aiohttp.ClientSession() as session:
            statuses = []
            for retry in (None, 1):  # Slack's retry of the same event is acknowledged too
                async with session.post(url, data=body, headers=sign(body, "application/json", retry=retry)) as r:
                    statuses.append(r.status)
            bad = sign(body, "application/json", secret="not-the-secret")
            async with session.post(url, data=body, headers=bad) as r:
                statuses.append(r.status)
        assert statuses == [200, 200, 401]
        # stored before Slack heard 200: a crash after the answer loses nothing (issue 10)
        assert any(m.body == "Over HTTP" for m in h.messages())
        await h.dispatcher.run_once()
        assert [d.message.body for d in h.customer.delivered if d.message] == ["Over HTTP"]
    finally:
        await connection.close()


async def test_socket_mode_end_to_end(h: Harness):
    await h.open()
    h.fake.envelopes = [{"envelope_id": "env-1", "type": "events_api", "accepts_response_payload": False,
                         "retry_attempt": 0, "retry_reason": "",
                         "payload": json.loads(event_body(reply_event(h, "Over the socket"), "EvSock"))}]
    stored_at_ack: list[bool] = []
    h.fake.on_ws_message = lambda frame: stored_at_ack.append(any(m.kind is MessageKind.STAFF for m in h.messages()))
    connection = await start_slack(h.app, app_token=APP_TOKEN)
    try:
        await eventually(lambda: {"envelope_id": "env-1"} in h.fake.ws_received, timeout=5)
        assert stored_at_ack == [True]  # the ack went out only once the reply was stored (issue 10)
        await h.dispatcher.run_once()
        assert [d.message.body for d in h.customer.delivered if d.message] == ["Over the socket"]
        (opened,) = h.fake.called("apps.connections.open")
        assert opened["_auth"] == f"Bearer {APP_TOKEN}"
    finally:
        await connection.close()
