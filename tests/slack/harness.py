"""A desk on in-memory fakes wired to the real Slack adapter and a FakeSlack, plus signed requests."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

from adapters.crypto import FernetCipher
from adapters.slack.pacing import ChannelPacer
from adapters.slack.runner import SlackParts, build_slack
from bot.customers.accounts import link_account
from bot.delivery.outbox import Dispatcher
from bot.desk import Desk
from bot.domain import Message, Target, Ticket
from bot.tickets.opening import open_ticket
from tests.core_helpers import ALICE, form, link, make_desk
from tests.fakes import FakeStore, ManualClock, RecordingPort
from tests.slack.fake_slack import BOT_TOKEN, FakeSlack, eventually

SECRET = "test-signing-secret"


def sign(body: str, content_type: str, secret: str = SECRET, retry: int | None = None) -> dict[str, Any]:
    ts = str(int(time.time()))
    headers: dict[str, Any] = {"content-type": content_type, "x-slack-request-timestamp": ts,
               "x-slack-signature": SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)}
    if retry is not None:
        headers.update({"x-slack-retry-num": str(retry), "x-slack-retry-reason": "http_timeout"})
    return headers


def event_body(event: dict[str, Any], event_id: str) -> str:
    return json.dumps({"token": "x", "team_id": "T0TEAM", "api_app_id": "A0APP", "type": "event_callback",
                       "event_id": event_id, "event_time": 1700000000, "event": event,
                       "authorizations": [{"team_id": "T0TEAM", "user_id": "U0000BOT", "is_bot": True}]})


@dataclass
class Harness:
    fake: FakeSlack
    desk: Desk
    slack: SlackParts
    dispatcher: Dispatcher
    customer: RecordingPort
    cipher: FernetCipher

    @property
    def app(self) -> AsyncApp:
        return self.slack.app

    @property
    def clock(self) -> ManualClock:
        return self.desk.clock  # type: ignore[return-value]

    @property
    def store(self) -> FakeStore:
        return self.desk.uow  # type: ignore[return-value]

    last: int = 0  # the number of the ticket opened last

    def ticket(self, number: int | None = None) -> Ticket:
        return self.store.state.tickets[number or self.last]

    def messages(self) -> list[Message]:
        return list(self.store.state.messages.values())

    def thread(self, number: int | None = None) -> tuple[str, str]:
        channel, ts = (self.ticket(number).staff_thread_ref or "").split(":")
        return channel, ts

    async def open(self, **fields: str) -> int:
        """Open a ticket for Alice and deliver the card: returns its number."""
        ticket = await open_ticket(self.desk, form(ALICE, **fields))
        await self.dispatcher.run_once()
        self.last = ticket.number
        return ticket.number

    async def dispatch(self, body: str, content_type: str, **sign_kw: Any) -> BoltResponse:
        headers = sign(body, content_type, **sign_kw)
        return await self.app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))

    async def event(self, event: dict[str, Any], event_id: str = "Ev1", **sign_kw: Any) -> BoltResponse:
        return await self.dispatch(event_body(event, event_id), "application/json", **sign_kw)

    async def reply(self, text: str, user: str = "U0000BOB", ts: str = "1700000500.000001", number: int | None = None,
                    event_id: str = "Ev1", retry: int | None = None, **extra: Any) -> BoltResponse:
        channel, thread_ts = self.thread(number)
        event = {"type": "message", "user": user, "text": text, "ts": ts, "thread_ts": thread_ts,
                 "channel": channel, "channel_type": "channel", **extra}
        return await self.event(event, event_id, retry=retry)

    async def command(self, text: str, user: str = "U0000BOB") -> BoltResponse:
        body = urlencode({"token": "x", "team_id": "T0TEAM", "channel_id": "C0SEO", "user_id": user,
                          "command": "/tickets", "text": text, "response_url": self.fake.response_url("cmd"),
                          "trigger_id": "t1", "api_app_id": "A0APP"})
        return await self._answered(body)

    async def _answered(self, body: str) -> BoltResponse:
        """Dispatch and wait for the listener's ephemeral answer (it runs after the ack)."""
        before = len(self.fake.responses)
        response = await self.dispatch(body, "application/x-www-form-urlencoded")
        await eventually(lambda: len(self.fake.responses) > before)
        return response

    async def action(self, action: dict[str, Any], user: str = "U0000BOB", number: int | None = None,
                     answered: bool = True) -> BoltResponse:
        """A click on the card; waits for the response_url answer unless `answered` is False."""
        channel, ts = self.thread(number)
        payload = {"type": "block_actions", "team": {"id": "T0TEAM"}, "user": {"id": user},
                   "api_app_id": "A0APP", "token": "x", "trigger_id": "t1",
                   "container": {"type": "message", "message_ts": ts, "channel_id": channel},
                   "channel": {"id": channel}, "message": {"ts": ts, "text": "card"},
                   "response_url": self.fake.response_url("action"),
                   "actions": [{"block_id": f"ticket-{number or self.last}", "action_ts": "1", **action}]}
        body = urlencode({"payload": json.dumps(payload)})
        return await self._answered(body) if answered else await self.dispatch(body, "application/x-www-form-urlencoded")


async def make_harness(fake: FakeSlack, usergroup: str | None = None) -> Harness:
    desk = make_desk()
    await link_account(desk, link())
    cipher = FernetCipher.ephemeral()
    slack = build_slack(desk, token=BOT_TOKEN, signing_secret=SECRET, api_url=fake.api_url, usergroup=usergroup,
                        cipher=cipher)
    slack.port.pacer = ChannelPacer.unpaced()  # the fake has no rate limit unless a test sets one
    customer = RecordingPort("c")
    dispatcher = Dispatcher(desk.uow, desk.clock, {Target.STAFF: slack.port, Target.CUSTOMER: customer})
    return Harness(fake, desk, slack, dispatcher, customer, cipher)
