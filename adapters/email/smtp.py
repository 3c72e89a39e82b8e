"""The SMTP mailer: delivers Target.EMAIL "send" rows of the outbox with aiosmtplib.

The payload's text renders (in the ticket's language) as "Subject: ..." then a blank line
then the body. Failures the server may get over (no connection, timeouts, 4xx) raise
RetryLater so the outbox tries again on its backoff; a recipient or message refused for
good (5xx) raises Undeliverable. The password never reaches a log line or an error.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib
from pydantic import SecretStr

from bot.ports import Delivery, RetryLater, Undeliverable
from bot.texts import Text, render

log = logging.getLogger(__name__)
IMPLICIT_TLS_PORT = 465
DEFAULT_SUBJECT = "Your support ticket"


def split_subject(rendered: str) -> tuple[str, str]:
    """("Subject: X\\n\\nbody") -> ("X", "body"); text without a subject line is all body."""
    first, _, rest = rendered.partition("\n")
    if first.lower().startswith("subject:"):
        return first[len("subject:"):].strip() or DEFAULT_SUBJECT, rest.lstrip("\n")
    return DEFAULT_SUBJECT, rendered


def _refused_for_good(exc: aiosmtplib.SMTPRecipientsRefused) -> bool:
    codes = [refusal.code for refusal in exc.recipients]
    return bool(codes) and all(code >= 500 for code in codes)


class SmtpMailer:
    """A DeliveryPort for Target.EMAIL. STARTTLS when `use_tls` on a submission port,
    implicit TLS on port 465; no TLS at all when `use_tls` is false."""

    def __init__(self, host: str, port: int, user: str | None, password: SecretStr | None, use_tls: bool,
                 sender: str, timeout: float = 10) -> None:
        self.host, self.port, self.user, self._password = host, port, user, password
        self.use_tls, self.sender, self.timeout = use_tls, sender, timeout

    def _message(self, delivery: Delivery) -> EmailMessage:
        payload = delivery.payload
        to, text = payload.get("to"), payload.get("text")
        if not to or not text:
            raise Undeliverable("an e-mail needs payload 'to' and 'text'")
        locale = delivery.ticket.locale if delivery.ticket else None
        subject, body = split_subject(render(Text.from_dict(text), locale))
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        message.set_content(body)
        return message

    async def deliver(self, delivery: Delivery) -> str | None:
        if delivery.action != "send":
            raise Undeliverable(f"unknown e-mail action {delivery.action!r}")
        message = self._message(delivery)
        to, server = message["To"], f"{self.host}:{self.port}"
        implicit_tls = self.use_tls and self.port == IMPLICIT_TLS_PORT
        try:
            await aiosmtplib.send(
                message, hostname=self.host, port=self.port, username=self.user or None,
                password=self._password.get_secret_value() if self._password else None,
                use_tls=implicit_tls, start_tls=self.use_tls and not implicit_tls, timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            reasons = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
            if _refused_for_good(exc):
                log.error("e-mail to %s refused for good by %s: %s", to, server, reasons)
                raise Undeliverable(f"recipient refused: {reasons}") from None
            log.warning("e-mail to %s deferred by %s: %s", to, server, reasons)
            raise RetryLater(f"recipient deferred: {reasons}") from None
        except (aiosmtplib.SMTPRecipientRefused, aiosmtplib.SMTPDataError) as exc:
            if exc.code >= 500:
                log.error("e-mail to %s rejected for good by %s: %s %s", to, server, exc.code, exc.message)
                raise Undeliverable(f"refused: {exc.code} {exc.message}") from None
            log.warning("e-mail to %s deferred by %s: %s %s", to, server, exc.code, exc.message)
            raise RetryLater(f"deferred: {exc.code} {exc.message}") from None
        except aiosmtplib.SMTPResponseException as exc:
            # 5xx here (authentication, sender) is our configuration, not the recipient: keep the
            # mail and retry on the outbox's backoff while someone fixes SMTP_* settings
            level = logging.ERROR if exc.code >= 500 else logging.WARNING
            log.log(level, "e-mail to %s failed at %s: %s %s (will retry)", to, server, exc.code, exc.message)
            raise RetryLater(f"SMTP {exc.code} {exc.message}") from None
        except (aiosmtplib.SMTPException, OSError) as exc:  # refused connection, timeout, disconnect
            log.warning("e-mail to %s failed: cannot reach SMTP server %s (%s: %s); will retry",
                        to, server, type(exc).__name__, exc)
            raise RetryLater(f"SMTP server {server} unreachable: {type(exc).__name__}") from None
        log.info("e-mail to %s sent via %s (%s)", to, server, message["Message-ID"])
        return str(message["Message-ID"])
