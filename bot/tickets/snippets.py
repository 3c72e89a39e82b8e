"""Snippets: staff's canned answers from the policy ([[snippet]]), sent with `!name` alone in a thread.

Placeholders {customer}, {ticket} and {product} are filled from the ticket; other braces are left as
written (a vendor's text may contain them).
"""

from __future__ import annotations

from bot.domain import CloseReason, Ticket
from bot.errors import Refusal
from bot.policy import Policy
from bot.texts import Text

CLOSE_PREFIX = "close-"  # a snippet "close-customisation" replaces the built-in text of that close


def fill(template: str, policy: Policy, ticket: Ticket) -> str:
    product = policy.product(ticket.product)
    values = {"{customer}": ticket.customer_name, "{ticket}": f"#{ticket.number}",
              "{product}": product.name if product else ticket.product}
    for placeholder, value in values.items():
        template = template.replace(placeholder, value)
    return template


def snippet_name(policy: Policy, body: str) -> str | None:
    """The name in a message that is only `PREFIXname`, else None (an ordinary answer)."""
    text = body.strip()
    prefix = policy.snippet_prefix
    if not prefix or not text.startswith(prefix) or len(text.split()) != 1 or len(text) == len(prefix):
        return None
    return text[len(prefix):].lower()


def expand(policy: Policy, ticket: Ticket, body: str) -> tuple[str, str | None]:
    """(what to send, the snippet's name or None). An unknown name is refused with the list."""
    name = snippet_name(policy, body)
    if name is None:
        return body, None
    if name not in policy.snippets:
        known = ", ".join(f"{policy.snippet_prefix}{n}" for n in sorted(policy.snippets)) or "none yet"
        raise Refusal("snippet_unknown", name=f"{policy.snippet_prefix}{name}", names=known)
    return fill(policy.snippets[name], policy, ticket), name


def close_text(policy: Policy, ticket: Ticket, reason: CloseReason) -> Text | None:
    """The vendor's own text for a staff close with this reason (snippet "close-<reason>"), if any."""
    template = policy.snippets.get(CLOSE_PREFIX + reason.value)
    return Text("policy_text", {"text": fill(template, policy, ticket)}) if template else None
