"""The ticket card in Block Kit, and the text safety rules for everything we post to Slack."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bot.customers.accounts import last_valid_day
from bot.domain import STAFF_CLOSE_REASONS, Identity, Message, MessageKind, Ticket, TicketStatus
from bot.policy import Policy
from bot.texts import Text, render

SECTION_LIMIT = 3000  # characters in a section block's text
FIELD_LIMIT = 2000  # characters in one section field
HEADER_LIMIT = 150
TEXT_LIMIT = 39000  # Slack truncates a message's text beyond 40,000

SLACK_ID = re.compile(r"^[UWS][A-Z0-9]{6,}$")
CLAIM, CLOSE, REQUEST_ACCESS, VIEW_ACCESS = "claim", "close", "request_access", "view_access"
REASON_LABELS = {
    "resolved": "Resolved",
    "customisation": "Customisation (not covered)",
    "magento-native": "Magento-native feature",
    "licence-expired": "Licence expired",
    "duplicate": "Duplicate",
    "inactivity": "No reply (inactivity)",
}
STATUS_LABELS = {
    TicketStatus.AWAITING_STAFF: "Waiting for staff",
    TicketStatus.AWAITING_CUSTOMER: "Waiting for the customer",
    TicketStatus.CLOSED: "Closed",
}


def escape(text: str) -> str:
    """Slack's three control characters: this also defuses <!channel>, <!here> and <@U…>."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _safe_cut(text: str, cut: int) -> int:
    """Move a cut back before an escaped character it would split (`&am|p;`)."""
    amp = text.rfind("&", max(cut - 5, 0), cut)
    return amp if amp != -1 and ";" not in text[amp:cut] else cut


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: _safe_cut(text, limit - 1)] + "…"


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Chunks under the limit, cut at a line break where there is one."""
    chunks = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > limit // 2 else _safe_cut(text, limit)
        chunks.append(text[:cut])
        text = text[cut:].lstrip("\n")
    chunks.append(text)
    return chunks


def escape_params(text: Text) -> Text:
    """A core Text whose parameters (customer subjects and names among them) are escaped."""
    return Text(text.key, {k: escape(v) if isinstance(v, str) else v for k, v in text.params.items()})


def render_escaped(text: Text) -> str:
    return render(escape_params(text), "en")


def author(name: str | None, fallback: str) -> str:
    """A display name made safe inside *bold*: no asterisk or line break can end it early."""
    clean = " ".join(escape(name or "").replace("*", "").split())
    return f"*{clean or fallback}*"


def mention(targets: str) -> str:
    """A payload "mention" as Slack markup: user ids (U…/W…), user groups (S…), "channel:NAME"
    (everyone active in the ticket's channel), several separated by spaces or commas."""
    parts = []
    for target in targets.replace(",", " ").split():
        if target.startswith("<"):
            parts.append(target)
        elif target.startswith("channel:") or target.lstrip("@") == "here":
            parts.append("<!here>")
        elif target.lstrip("@") == "channel":
            parts.append("<!channel>")
        elif SLACK_ID.match(target) and target[0] == "S":
            parts.append(f"<!subteam^{target}>")
        elif SLACK_ID.match(target):
            parts.append(f"<@{target}>")
        else:
            parts.append(escape(target))
    return " ".join(parts)


def person(user: str | None) -> str:
    """An assignee (a Slack user id since claims store ids) as Slack renders it: a name."""
    if not user:
        return "unassigned"
    return f"<@{user}>" if SLACK_ID.match(user) and user[0] in "UW" else escape(user)


def message_text(message: Message) -> str:
    """A relayed message as it appears in the thread, attributed, customer text escaped."""
    who = author(message.author_name, "Customer")
    role = " (customer)" if message.kind is MessageKind.CUSTOMER else ""
    body = escape(message.body) if message.body else "_(no text)_"
    return f"{who}{role}: {body}"


def _field(label: str, value: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": truncate(f"*{label}*\n{value}", FIELD_LIMIT)}


def _long_section(label: str, value: str) -> dict[str, Any]:
    head = f"*{label}*\n"
    body = escape(value.strip()) or "-"
    return {"type": "section", "text": {"type": "mrkdwn", "text": head + truncate(body, SECTION_LIMIT - len(head))}}


def licence_line(ticket: Ticket, now: datetime) -> str:
    """The licence's last valid day, as customers are told it (bot.customers.accounts.last_valid_day)."""
    day = last_valid_day(ticket.licence_expires_at)
    return f"{day} (expired)" if now >= ticket.licence_expires_at else day


def is_overdue(ticket: Ticket, now: datetime) -> bool:
    # the sweep clears sla_due_at when it records the breach in overdue_since
    if ticket.status is not TicketStatus.AWAITING_STAFF:
        return False
    return ticket.overdue_since is not None or (ticket.sla_due_at is not None and now > ticket.sla_due_at)


def fallback_text(ticket: Ticket) -> str:
    return truncate(f"Ticket #{ticket.number}: {escape(ticket.subject)}", 3000)


def identities_line(identities: list[Identity]) -> str:
    """Every chat identity linked to the customer's account: more than one means several
    people may write as this customer (anyone with the e-mail and a key can link)."""
    shown = [f"{escape(' '.join((i.display_name or i.user_id).split()))} ({escape(i.platform)} {escape(i.user_id)})"
             for i in identities]
    return ", ".join(shown) or "-"


def card_blocks(ticket: Ticket, policy: Policy, now: datetime,
                identities: list[Identity] | None = None) -> list[dict[str, Any]]:
    cal = policy.calendar
    product = policy.product(ticket.product)
    status = STATUS_LABELS[ticket.status]
    if ticket.status is TicketStatus.CLOSED:
        reason = REASON_LABELS.get(ticket.close_reason or "", ticket.close_reason or "-")
        status = f"Closed: {reason}"
    elif is_overdue(ticket, now):
        status = f":rotating_light: OVERDUE ({status})"
    due = ticket.sla_due_at or (ticket.overdue_since if ticket.is_open else None)
    deadline = cal.format_local(due) if due else "-"
    header = truncate(f"#{ticket.number} {ticket.subject}", HEADER_LIMIT)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": False}},
        {"type": "section", "fields": [
            _field("Customer", f"{escape(ticket.customer_name)} ({escape(ticket.customer_email)})"),
            _field("Product", escape(product.name if product else ticket.product)),
            _field("Licence valid through", licence_line(ticket, now)),
            _field("Versions", f"Magento {escape(ticket.magento_version)}, "
                               f"module {escape(ticket.module_version)}"),
            _field("Answer due", deadline),
            _field("Status", status),
            _field("Assignee", person(ticket.assignee)),
            *([_field(f"Linked identities ({len(identities)})", identities_line(identities))]
              if identities is not None else []),
        ]},
        _long_section("Description", ticket.description),
        _long_section("Steps to reproduce", ticket.steps),
    ]
    if ticket.errors.strip():
        blocks.append(_long_section("Errors", ticket.errors))
    blocks.append(_long_section("Recent changes", ticket.changes))
    if ticket.is_open:
        blocks.append(_actions(ticket.number))
    return blocks


def _actions(number: int) -> dict[str, Any]:
    options = [{"text": {"type": "plain_text", "text": REASON_LABELS[r.value]}, "value": f"{number}:{r.value}"}
               for r in STAFF_CLOSE_REASONS]
    return {"type": "actions", "block_id": f"ticket-{number}", "elements": [
        {"type": "button", "action_id": CLAIM, "text": {"type": "plain_text", "text": "Claim"},
         "style": "primary", "value": str(number)},
        {"type": "static_select", "action_id": CLOSE, "options": options,
         "placeholder": {"type": "plain_text", "text": "Close with reason…"},
         "confirm": {"title": {"type": "plain_text", "text": "Close the ticket?"},
                     "text": {"type": "plain_text", "text": "The customer is told and the thread is locked."},
                     "confirm": {"type": "plain_text", "text": "Close"},
                     "deny": {"type": "plain_text", "text": "Cancel"}}},
        {"type": "button", "action_id": REQUEST_ACCESS, "text": {"type": "plain_text", "text": "Request access"},
         "value": str(number)},
        # always shown: the card is not re-rendered when access arrives or expires, the answer says
        {"type": "button", "action_id": VIEW_ACCESS, "text": {"type": "plain_text", "text": "View access"},
         "value": str(number)},
    ]}
