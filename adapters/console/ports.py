"""The console's platform ports: every delivery is printed as one `→ …` block."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from adapters.render.files import customer_transcript, report_files, staff_transcript
from bot.customers.accounts import last_valid_day
from bot.desk import Desk
from bot.domain import Message, Ticket
from bot.ports import Delivery
from bot.texts import Text, render
from bot.tickets.queries import STAFF_STATUS

Write = Callable[[str], None]


def block(head: str, body: str) -> str:
    """First line after the head; continuation lines indented so a reader sees one message."""
    lines = body.splitlines() or [""]
    return "\n".join([f"{head}: {lines[0]}", *(f"    {line}" for line in lines[1:])])


def _content(delivery: Delivery, locale: str) -> str:
    text = delivery.payload.get("text")
    if text is not None:
        return render(Text.from_dict(text), locale)
    message = delivery.message
    return message.body if message else ""


def _files(message: Message | None) -> str:
    if message is None or not message.attachments:
        return ""
    return "\n[files: " + ", ".join(a.filename for a in message.attachments) + "]"


def default_files_dir() -> Path:
    return Path(tempfile.gettempdir()) / "supportbot-console"


def save_file(files_dir: Path, name: str, data: bytes) -> Path:
    """Files the bot would upload (transcripts, charts) are written here; the console shows the path."""
    files_dir.mkdir(parents=True, exist_ok=True)
    path = files_dir / name
    path.write_bytes(data)
    return path


class ConsoleCustomerPort:
    """Stands in for Discord: the ticket's private thread, DMs."""

    def __init__(self, write: Write, desk: Desk | None = None, files_dir: Path | None = None) -> None:
        self.write, self.desk = write, desk
        self.files_dir = files_dir or default_files_dir()

    async def deliver(self, delivery: Delivery) -> str | None:
        ticket = delivery.ticket
        if delivery.action == "dm_user":  # not about a ticket: another identity joined an account
            who, locale = delivery.payload.get("user_id", "?"), delivery.payload.get("locale") or "en"
            self.write(block(f"→ discord DM @{who}", _content(delivery, locale)))
            return None
        assert ticket is not None, "customer deliveries belong to a ticket"
        n, who, locale = ticket.number, ticket.customer_user_id, ticket.locale
        action, message = delivery.action, delivery.message
        if action == "open_thread":
            body = _content(delivery, locale) + "\n[button: Close ticket]"
            self.write(block(f'→ discord #{n} new private thread "#{n} {ticket.subject}" for @{who}', body))
            return f"thread-{n}"
        if action == "post":
            body = _content(delivery, locale) + _files(message)
            if message is not None:
                body = f"{message.author_name} (support): {body}"
            if delivery.payload.get("access_form"):
                body += "\n[button: Send temporary access]  (console: /ticket access url:… login:… password:… valid:YYYY-MM-DD)"
            if delivery.payload.get("close_button"):
                body += "\n[button: Close ticket]"
            if delivery.payload.get("rating_buttons"):
                body += '\n[buttons: 1 2 3 4 5, then an optional comment]  (console: /ticket rate 5 "comment")'

            self.write(block(f"→ discord #{n} thread", body))
            return f"discord-msg-{delivery.item_id}"
        if action in ("edit", "delete"):
            what = "edited" if action == "edit" else "deleted"
            self.write(block(f"→ discord #{n} thread ({what})", message.body if message and action == "edit" else "-"))
            return None
        if action == "lock":
            self.write(f"→ discord #{n} thread archived and locked")
            return None
        if action == "dm":
            self.write(block(f"→ discord DM @{who} #{n}", _content(delivery, locale)))
            return None
        if action == "transcript" and self.desk is not None:
            name, data = await customer_transcript(self.desk, ticket, delivery.payload)
            path = save_file(self.files_dir, name, data)
            self.write(f"→ discord #{n} thread: [file: {name}] (written to {path})")
            return None
        raise ValueError(f"unknown customer action {action}")


def card_text(desk: Desk, t: Ticket) -> str:
    cal = desk.policy.calendar
    due = cal.format_local(t.sla_due_at) if t.sla_due_at else "-"
    overdue = " (OVERDUE)" if t.sla_due_at and desk.clock.now() >= t.sla_due_at and t.is_open else ""
    status = STAFF_STATUS[t.status] + (f", {t.close_reason.value}" if t.close_reason else "")
    return "\n".join([
        f"Ticket #{t.number}: {t.subject}",
        f"Customer: {t.customer_name} <{t.customer_email}> | Product: {t.product} | Licence until "
        f"{last_valid_day(t.licence_expires_at)}",
        f"Magento {t.magento_version}, module {t.module_version}",
        f"Description: {t.description}",
        f"Steps: {t.steps}",
        f"Errors: {t.errors or '-'}",
        f"Recent changes: {t.changes}",
        f"Answer due: {due}{overdue} | Status: {status} | Assignee: {t.assignee or '-'}",
        "[buttons: Claim, Close, Request access, View access]" if t.is_open else "[closed]",
    ])


class ConsoleStaffPort:
    """Stands in for Slack: ticket cards in product channels, their threads."""

    def __init__(self, write: Write, desk: Desk, files_dir: Path | None = None) -> None:
        self.write, self.desk = write, desk
        self.files_dir = files_dir or default_files_dir()

    async def deliver(self, delivery: Delivery) -> str | None:
        action, ticket, message = delivery.action, delivery.ticket, delivery.message
        if action == "react":
            return None  # reactions are Slack decoration; the console shows the delivery itself
        if action == "report":
            name, png, summary = await report_files(self.desk, delivery.payload)
            path = save_file(self.files_dir, name, png)
            channel = str(delivery.payload.get("channel") or delivery.payload.get("channel_id")).lstrip("#")
            body = f"[file: {name}] (written to {path})"
            if not delivery.payload.get("chart_only"):
                body = f"Weekly SLA report\n{summary}\n{body}"
            self.write(block(f"→ slack #{channel}", body))
            return None
        assert ticket is not None, "staff deliveries belong to a ticket"
        n = ticket.number
        if action == "card":
            self.write(block(f"→ slack #{ticket.staff_channel} #{n} new ticket card", card_text(self.desk, ticket)))
            return f"{ticket.staff_channel}:card-{n}"
        if action == "card_update":  # only the line that changes, to keep the transcript readable
            rating = delivery.payload.get("rating")
            rated = f" | Satisfaction: {rating}/5" if rating else ""
            self.write(f"→ slack #{ticket.staff_channel} #{n} card updated: {card_text(self.desk, ticket).splitlines()[-2]}"
                       f"{rated}")
            return None
        if action == "post":
            body = _content(delivery, "en") + _files(message)
            if message is not None:
                body = f"{message.author_name} (customer): {body}"
            mention = delivery.payload.get("mention")
            if mention:  # user ids, or "channel:NAME" for the whole staff channel
                body = " ".join(f"@{m.removeprefix('channel:')}" for m in mention.split()) + f" {body}"
            self.write(block(f"→ slack #{n} thread", body))
            return f"slack-msg-{delivery.item_id}"
        if action in ("edit", "delete"):
            what = "edited" if action == "edit" else "deleted"
            self.write(block(f"→ slack #{n} thread ({what})", message.body if message and action == "edit" else "-"))
            return None
        if action == "transcript":
            name, data = await staff_transcript(self.desk, ticket, delivery.payload)
            path = save_file(self.files_dir, name, data)
            self.write(f"→ slack #{n} thread: [file: {name}] (written to {path})")
            return None
        raise ValueError(f"unknown staff action {action}")


class ConsoleMailPort:
    def __init__(self, write: Write) -> None:
        self.write = write

    async def deliver(self, delivery: Delivery) -> str | None:
        ticket = delivery.ticket
        body = _content(delivery, ticket.locale if ticket else "en")
        tag = f" #{ticket.number}" if ticket else ""
        self.write(block(f"→ email {delivery.payload.get('to', '?')}{tag}", body))
        return None
