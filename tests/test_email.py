"""The SMTP mailer against a local aiosmtpd server (127.0.0.1, a free port): delivery, failures
classified for the outbox, and a refused connection retried by the dispatcher."""

from __future__ import annotations

import dataclasses
import email
import logging
import socket
from collections.abc import Iterator
from datetime import timedelta
from email.message import Message as MailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pydantic import SecretStr

from adapters.email.smtp import SmtpMailer, split_subject
from bot.commands import StaffPost
from bot.customers.accounts import link_account
from bot.delivery.outbox import Dispatcher
from bot.domain import OutboxStatus, Target
from bot.ports import Delivery, RetryLater, Undeliverable
from bot.texts import Text
from bot.tickets.conversation import staff_post
from bot.tickets.opening import open_ticket
from tests.core_helpers import BOB, form, link, make_desk
from tests.fakes import RecordingPort

SENDER = "support@example.com"


class Inbox:
    """An aiosmtpd handler that keeps what it receives; `refuse_rcpt` answers RCPT TO instead."""

    def __init__(self, refuse_rcpt: str | None = None) -> None:
        self.received: list[tuple[str, list[str], MailMessage]] = []
        self.refuse_rcpt = refuse_rcpt

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if self.refuse_rcpt:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(handler: Inbox, port: int) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    return controller


@pytest.fixture
def smtp_port() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = serve(inbox, port)
    yield inbox, port
    controller.stop()


def mailer(port: int, password: str | None = None) -> SmtpMailer:
    return SmtpMailer("127.0.0.1", port, None, SecretStr(password) if password else None, use_tls=False,
                      sender=SENDER, timeout=5)


def answer_delivery(to: str = "alice@example.com") -> Delivery:
    text = Text("answer_email", {"number": 7, "subject": "Sitemap is empty", "author": "Bob",
                                 "body": "Please regenerate the sitemap."})
    return Delivery(1, "send", {"to": to, "text": text.as_dict()}, None, None)


async def test_a_mail_is_delivered_with_its_headers_and_body(smtp_port: tuple[Inbox, int]) -> None:
    inbox, port = smtp_port
    ref = await mailer(port).deliver(answer_delivery())
    ((mail_from, rcpt_tos, message),) = inbox.received
    assert (mail_from, rcpt_tos) == (SENDER, ["alice@example.com"])
    assert message["From"] == SENDER and message["To"] == "alice@example.com"
    assert message["Subject"] == "New answer on your ticket #7: Sitemap is empty"
    assert ref == message["Message-ID"]
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    body = payload.decode()
    assert body.startswith("Bob answered:") and "Please regenerate the sitemap." in body
    assert "Subject:" not in body


async def test_a_refused_connection_is_retried_later_and_logged_without_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    with pytest.raises(RetryLater):
        await mailer(free_port(), password="hunter2-secret").deliver(answer_delivery())
    assert any("cannot reach SMTP server 127.0.0.1" in r.getMessage() for r in caplog.records)
    assert "hunter2-secret" not in caplog.text


@pytest.mark.parametrize(("reply", "error"), [("550 5.1.1 No such user", Undeliverable),
                                              ("451 4.3.0 Try again later", RetryLater)])
async def test_recipient_refusals_are_classified(reply: str, error: type[Exception]) -> None:
    port = free_port()
    controller = serve(Inbox(refuse_rcpt=reply), port)
    try:
        with pytest.raises(error):
            await mailer(port).deliver(answer_delivery("nobody@example.com"))
    finally:
        controller.stop()


async def test_a_delivery_without_recipient_is_undeliverable() -> None:
    with pytest.raises(Undeliverable):
        await mailer(free_port()).deliver(Delivery(1, "send", {"text": Text("nudge", {"number": 1}).as_dict()},
                                                   None, None))


def test_split_subject() -> None:
    assert split_subject("Subject: Hello\n\nBody\nline") == ("Hello", "Body\nline")
    assert split_subject("No subject here") == ("Your support ticket", "No subject here")


async def test_the_dispatcher_retries_a_refused_mail_once_the_server_is_up() -> None:
    desk = make_desk()
    desk = dataclasses.replace(desk, mail_enabled=True)
    await link_account(desk, link())
    number = (await open_ticket(desk, form())).number
    await staff_post(desk, StaffPost(BOB, "ev-1", "Please regenerate the sitemap.", "ts-1", ticket_number=number))
    port = free_port()  # nothing listens there yet
    ports = {Target.CUSTOMER: RecordingPort("c"), Target.STAFF: RecordingPort("s"), Target.EMAIL: mailer(port)}
    dispatcher = Dispatcher(desk.uow, desk.clock, ports)  # type: ignore[arg-type]
    await dispatcher.run_once()
    (row,) = [o for o in desk.uow.state.outbox.values() if o.target is Target.EMAIL]  # type: ignore[attr-defined]
    assert row.status is OutboxStatus.PENDING and row.attempts == 1 and "unreachable" in (row.last_error or "")
    assert row.next_attempt_at is not None and row.next_attempt_at > desk.clock.now()

    inbox = Inbox()
    controller = serve(inbox, port)
    try:
        await dispatcher.run_once()
        assert not inbox.received  # the backoff holds: not retried before its time
        desk.clock.advance(row.next_attempt_at - desk.clock.now() + timedelta(seconds=1))  # type: ignore[attr-defined]
        await dispatcher.run_once()
        await dispatcher.run_once()
    finally:
        controller.stop()
    ((_, rcpt_tos, message),) = inbox.received
    assert rcpt_tos == ["alice@example.com"] and f"#{number}" in message["Subject"]
    row = desk.uow.state.outbox[row.id]  # type: ignore[attr-defined]
    assert row.status is OutboxStatus.DELIVERED and row.attempts == 2
